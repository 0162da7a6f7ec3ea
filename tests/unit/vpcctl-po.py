#!/usr/bin/python3
"""vpcctl's Spanish catalogue is complete and matches the code: po/POTFILES names every client file
that marks a string, every string xgettext extracts from them (with po/meson.build's keywords, the
glib preset's) has a Spanish translation in po/es.po, es.po holds nothing else, and msgfmt --check
finds no error, nothing fuzzy, nothing untranslated."""

import os
import re
import subprocess
import sys
import tempfile

SRC = os.environ.get("VPC_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
failures = 0


def check(cond, what, got=None):
    global failures
    print(("ok - " if cond else "FAIL - ") + what + ("" if cond or got is None else f": got {got!r}"))
    failures += 0 if cond else 1


def po_entries(path):
    """(msgctxt, msgid) of every entry but the header, from msgcat's normalised output."""
    out = subprocess.run(["msgcat", "--no-wrap", "--sort-output", path], capture_output=True, text=True, check=True).stdout
    entries = set()
    for block in out.split("\n\n"):
        ctx = re.search(r'^msgctxt "(.*)"$', block, re.M)
        mid = re.search(r'^msgid "(.*)"$', block, re.M)
        if mid and mid.group(1):
            entries.add((ctx.group(1) if ctx else None, mid.group(1)))
    return entries


potfiles = open(os.path.join(SRC, "po", "POTFILES")).read().split()
marking = sorted("client/" + f for f in os.listdir(os.path.join(SRC, "client")) if f.endswith(".c")
                 and re.search(r'(^|[^A-Za-z0-9_])(_|C_|N_|ngettext)\(', open(os.path.join(SRC, "client", f)).read()))
check(sorted(potfiles) == marking, "po/POTFILES lists every client file that marks strings", (potfiles, marking))

with tempfile.TemporaryDirectory() as tmp:
    pot = os.path.join(tmp, "vpcctl.pot")
    subprocess.run(["xgettext", "--from-code=UTF-8", "--keyword=_", "--keyword=N_", "--keyword=C_:1c,2",
                    "--keyword=ngettext:1,2", "-o", pot, "-D", SRC, *potfiles], check=True)
    want = po_entries(pot)
have = po_entries(os.path.join(SRC, "po", "es.po"))
check(len(want) > 50, f"xgettext finds vpcctl's strings ({len(want)})", len(want))
check(not want - have, "every string of vpcctl is in po/es.po", sorted(want - have))
check(not have - want, "po/es.po holds no string vpcctl no longer has", sorted(have - want))

r = subprocess.run(["msgfmt", "--check", "--statistics", "-o", os.devnull, os.path.join(SRC, "po", "es.po")],
                   capture_output=True, text=True, env=dict(os.environ, LC_ALL="C"))
check(r.returncode == 0 and re.fullmatch(r"\d+ translated messages\.\n", r.stderr) is not None,
      "msgfmt --check --statistics: no error, nothing fuzzy or untranslated", r.stderr)
check("#, fuzzy" not in open(os.path.join(SRC, "po", "es.po")).read().split("\n\n", 1)[1], "no entry marked fuzzy")
print("failures:", failures)
sys.exit(1 if failures else 0)
