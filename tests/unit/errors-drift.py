#!/usr/bin/python3
"""errors-drift.py BUILT...: every copy of the error table is what service/errors-generate.py makes
of service/errors.table now. The committed Python modules (tests/lib/vpc_errors.py, the Ansible
collection's module_utils/vpc_errors.py) and the build's outputs given as arguments (errors-table.h,
vpcctl-error-exits.h, vpc-errors.js) are generated into a temporary directory and compared byte for
byte; docs/dbus-api.md's "Errors" table has the same names and HRESULTs; and any other pair of an
error name and an HRESULT written in the source tree (a test's expectations, a copy by hand) agrees
with the table. A broken table is refused with the line at fault."""

import difflib
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("VPC_SOURCE_ROOT", os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "tests", "lib"))
from vpctest import check, finish  # noqa: E402

GENERATE = os.path.join(SOURCE, "service", "errors-generate.py")
TABLE = os.path.join(SOURCE, "service", "errors.table")
COMMITTED = {
    "python": ["tests/lib/vpc_errors.py",
               "ansible/ansible_collections/vpc/guestos/plugins/module_utils/vpc_errors.py"],
}
BUILT_KIND = {"errors-table.h": "c", "vpcctl-error-exits.h": "vpcctl", "vpc-errors.js": "js"}
# "org.vpc.Error.VmUnknown": 0xA0040207, { VPC_ERROR_X, "name", 0x... }, | `name` | 0x... |
PAIR = re.compile(r"""[`'"]((?:org\.freedesktop\.DBus|org\.vpc)\.Error\.\w+)[`'"]\s*[:,|]\s*\(?\s*(0x[0-9A-Fa-f]{8})\b""")
TEXT_SUFFIXES = (".c", ".h", ".py", ".js", ".sh", ".md", ".html", ".xml", ".yml", ".yaml", ".in")


def generate(kind, tmp):
    out = os.path.join(tmp, kind)
    r = subprocess.run([sys.executable, GENERATE, TABLE, kind, out], capture_output=True, text=True)
    check(r.returncode == 0, f"errors-generate.py makes the {kind} copy", r.stderr)
    with open(out, encoding="utf-8") as f:
        return f.read()


def same(path, want, what):
    try:
        with open(path, encoding="utf-8") as f:
            got = f.read()
    except OSError as e:
        got = f"({e})"
    diff = "".join(difflib.unified_diff(got.splitlines(True), want.splitlines(True), path, "generated now"))
    check(got == want, f"{what} is what errors-generate.py makes now (ninja update-errors for the committed ones)",
          diff[:3000])


def table():
    rows = {}
    with open(TABLE, encoding="utf-8") as f:
        for line in f:
            if line.strip() and not line.lstrip().startswith("#"):
                fields = line.split()
                rows[fields[1]] = int(fields[2], 16)
    return rows


def source_files():
    """The tree as it is (new files too), without build directories and hidden ones."""
    names = []
    for root, dirs, files in os.walk(SOURCE):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__"
                         and not os.path.exists(os.path.join(root, d, "meson-private")))
        names += [os.path.relpath(os.path.join(root, f), SOURCE) for f in sorted(files) if f.endswith(TEXT_SUFFIXES)]
    return names


def refused(tmp):
    """A broken table stops the build with the line at fault, not with a copy that is wrong."""
    with open(TABLE, encoding="utf-8") as f:
        good = [line for line in f if line.strip() and not line.startswith("#")]
    broken = {
        "a name twice": good + [good[0].replace(good[0].split()[0], "OTHER", 1)],
        "five columns": good[:1] + [" ".join(good[1].split()[:5]) + "\n"],
        "an HRESULT that is not 0x and eight hex digits": good[:1] + [good[1].replace("0x", "0X", 1)],
        "words with a quote": good[:1] + [good[1].rstrip("\n") + ' "x"\n'],
    }
    for what, lines in broken.items():
        path = os.path.join(tmp, "broken.table")
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(lines)
        r = subprocess.run([sys.executable, GENERATE, path, "c", "-"], capture_output=True, text=True)
        check(r.returncode != 0 and r.stdout == "" and f"{path}:{len(lines)}:" in r.stderr,
              f"errors-generate.py refuses a table with {what}, naming the line", (r.returncode, r.stderr))


def main():
    rows = table()
    check("org.freedesktop.DBus.Error.LimitsExceeded" in rows, "the table has LimitsExceeded", sorted(rows))
    with tempfile.TemporaryDirectory(prefix="vpc-errors-drift.") as tmp:
        for kind, paths in COMMITTED.items():
            want = generate(kind, tmp)
            for p in paths:
                same(os.path.join(SOURCE, p), want, p)
        for path in sys.argv[1:]:
            kind = BUILT_KIND.get(os.path.basename(path))
            check(kind is not None, f"{path} is a copy of the table this test knows", sorted(BUILT_KIND))
            if kind:
                same(path, generate(kind, tmp), f"the build's {os.path.basename(path)}")
        refused(tmp)

    with open(os.path.join(SOURCE, "docs", "dbus-api.md"), encoding="utf-8") as f:
        api = f.read()
    section = api.split("\n## Errors\n", 1)[-1].split("\n#", 1)[0]
    documented = {m.group(1): int(m.group(2), 16) for m in PAIR.finditer(section)}
    check(documented == rows, "docs/dbus-api.md's Errors table has the table's names and HRESULTs",
          {n: (hex(documented.get(n, 0)), hex(rows.get(n, 0))) for n in set(documented) | set(rows)
           if documented.get(n) != rows.get(n)})

    wrong, seen = [], 0
    for name in source_files():
        with open(os.path.join(SOURCE, name), encoding="utf-8", errors="replace") as f:
            text = f.read()
        for m in PAIR.finditer(text):
            seen += 1
            line = text.count("\n", 0, m.start()) + 1
            if rows.get(m.group(1)) != int(m.group(2), 16):
                wrong.append(f"{name}:{line}: {m.group(1)} {m.group(2)}, the table says "
                             f"{'0x%08X' % rows[m.group(1)] if m.group(1) in rows else 'no such error'}")
    check(seen >= len(rows) and wrong == [],
          f"every error name written with an HRESULT in the source tree agrees with the table ({seen} found)", wrong)
    finish()


main()
