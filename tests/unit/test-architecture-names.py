#!/usr/bin/python3
"""docs/architecture.md names what exists: every service file it puts in backticks (`task.c`,
`logoff-programs/`) is in service/, every other file path (`bench/RESULTS-flood.md`) is in the
repository (a bare name such as `vpctest.py` anywhere in it, or a build output a meson.build names,
such as `errors-table.h`), and every identifier (`task_complete()`, `d->users_check`,
`AuthorizerLimits.max_in_flight`) is a word of the sources of service/, client/ or tests/lib/. Words that are not the daemon's code (D-Bus names, JSON keys, other
projects' names) are listed below, each with where it comes from. --self-test checks that a missing
file and a missing identifier are reported."""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
SERVICE = ROOT / "service"

# Named by the document and not code of service/: what each is instead.
NOT_CODE = {
    "machined.h": "systemd's src/machine/, the model",
    "NoReply": "the D-Bus error the bus daemon sends for a call left unanswered",
}

FILE = re.compile(r"^[\w./-]+\.(c|h|md|py|sh|conf|xml|json)$|^[\w.-]+/$")
IDENT = re.compile(r"^(?:[A-Za-z_]\w*(?:->|\.))*[A-Za-z_]\w*(?:\(\))?$")


SOURCES = [SERVICE, ROOT / "client", ROOT / "tests" / "lib"]
SKIP = {"build", ".git", "node_modules"}


def tree_files():
    return [p for p in ROOT.rglob("*") if p.is_file() and not SKIP & set(p.relative_to(ROOT).parts[:1])
            and not p.relative_to(ROOT).parts[0].startswith("build")]


def words_of_sources():
    words = set()
    for d in SOURCES:
        for p in list(d.rglob("*.[ch]")) + list(d.rglob("*.py")) + list(d.rglob("*.sh")):
            words.update(re.findall(r"[A-Za-z_]\w*", p.read_text(errors="replace")))
    return words


def known_files():
    names = set()
    for p in tree_files():
        names.add(p.name)
        if p.name == "meson.build":
            names.update(re.findall(r"'([\w.-]+\.\w+)'", p.read_text(errors="replace")))
    return names


def check(text, words, files):
    missing = []
    for span in re.findall(r"`([^`\n]+)`", text):
        if span in NOT_CODE:
            continue
        if FILE.match(span):
            if not ((SERVICE / span).exists() or (ROOT / span).exists() or ("/" not in span and span in files)):
                missing.append(f"file {span}")
            continue
        if IDENT.match(span):
            for name in re.split(r"->|\.", span.removesuffix("()")):
                # A lower-case word without an underscore is prose in code font (a state, a key).
                if name not in words and ("_" in name or not name.islower()):
                    missing.append(f"identifier {span}")
                    break
    return missing


def main():
    words, files = words_of_sources(), known_files()
    if sys.argv[1:] == ["--self-test"]:
        missing = check("`task.c` `no-such-file.c` `task_complete()` `no_such_function()` `d->no_such_field`", words, files)
        expect = ["file no-such-file.c", "identifier no_such_function()", "identifier d->no_such_field"]
        if missing != expect:
            print(f"the checker reported {missing}, expected {expect}")
            return 1
        print("the checker reports a missing file and missing identifiers")
        return 0
    missing = check((ROOT / "docs" / "architecture.md").read_text(), words, files)
    for m in missing:
        print(f"docs/architecture.md names {m}, which the repository does not have")
    print(f"{len(missing)} missing")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
