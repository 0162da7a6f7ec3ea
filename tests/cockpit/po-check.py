#!/usr/bin/python3
"""The page's translations are complete: every string that cockpit/po/extract.py finds in the page
(index.html's elements marked translate="...", the literal arguments of vpc.js's _(),
cockpit.gettext and cockpit.ngettext) is in each cockpit/po/LANG.po, translated (not empty, not
fuzzy, both plural forms), with the same cockpit.format placeholders ($0, $1) as the English; no
catalogue keeps a string the page no longer has; and each catalogue's po.LANG.js, as the build
made it, loads in node (when there is one) and gives cockpit.locale() those same strings."""

import glob
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
SOURCE = os.environ.get("VPC_SOURCE_ROOT", os.path.join(HERE, "..", ".."))
PO_DIR = os.path.join(SOURCE, "cockpit", "po")
sys.path.insert(0, PO_DIR)
from vpctest import check, finish  # noqa: E402
import extract  # noqa: E402
import pofile  # noqa: E402

PLACEHOLDER = re.compile(r"\$\d+")


def placeholders(s):
    return sorted(PLACEHOLDER.findall(s))


def main():
    msgs = extract.messages()
    wanted = {}
    for m in msgs:
        wanted.setdefault(m.key, m)
    check(len(wanted) >= 60, f"the page has its translatable strings ({len(wanted)} found)",
          [m.id for m in wanted.values()])
    # A string the page builds at run time would escape this check: vpc.js calls gettext with
    # literals only.
    with open(os.path.join(SOURCE, "cockpit", "vpc", "vpc.js"), encoding="utf-8") as f:
        src = f.read()
    dynamic = re.findall(r'(?<![\w.])(?:_|cockpit\.gettext|cockpit\.ngettext)\(\s*[^"\s]', src)
    check(dynamic == [], "vpc.js passes gettext string literals only", dynamic)

    catalogues = sorted(glob.glob(os.path.join(PO_DIR, "*.po")))
    check(bool(catalogues), "there is a catalogue (cockpit/po/*.po)", PO_DIR)
    for path in catalogues:
        lang = os.path.splitext(os.path.basename(path))[0]
        entries = {(e.ctxt, e.id): e for e in pofile.parse(path) if e.id != ""}
        missing = [m.id for k, m in wanted.items() if k not in entries]
        check(missing == [], f"{lang}.po has every string of the page", missing)
        untranslated = [e.id for k, e in entries.items() if k in wanted and not e.translated]
        check(untranslated == [], f"{lang}.po translates each of them (not empty, not fuzzy)", untranslated)
        plural = [m.id for k, m in wanted.items() if k in entries and (m.plural is None) != (entries[k].plural is None)]
        check(plural == [], f"{lang}.po has plural forms exactly where the page uses ngettext", plural)
        bad = []
        for k, e in entries.items():
            if k not in wanted or not e.translated:
                continue
            if e.plural is None:
                ok = placeholders(e.strs[0]) == placeholders(e.id)
            else:
                # The plural forms take the plural's placeholders; a singular form may leave the
                # number out ("the one running VM").
                ok = (all(placeholders(s) == placeholders(e.plural) for i, s in e.strs.items() if i > 0) and
                      set(placeholders(e.strs[0])) <= set(placeholders(e.plural)))
            if not ok:
                bad.append((e.id, e.strs))
        check(bad == [], f"{lang}.po keeps the $N placeholders of each string", bad)
        stale = [e.id for k, e in entries.items() if k not in wanted]
        check(stale == [], f"{lang}.po has no string the page no longer has", stale)

        built = os.environ.get("VPC_COCKPIT_BUILT")
        js = os.path.join(built, f"po.{lang}.js") if built else None
        node = shutil.which("node") or shutil.which("nodejs")
        if js and node:
            out = subprocess.run([node, "-e", """
                let got = null;
                global.cockpit = { locale: l => { got = l; } };
                require(process.argv[1]);
                const meta = got[""];
                const out = { language: meta.language, one: meta["plural-forms"](1), two: meta["plural-forms"](2), keys: {} };
                for (const k of Object.keys(got)) if (k !== "") out.keys[k] = got[k];
                console.log(JSON.stringify(out));""", js], capture_output=True, text=True, timeout=30)
            check(out.returncode == 0, f"po.{lang}.js loads", out.stderr)
            if out.returncode == 0:
                loaded = json.loads(out.stdout)
                check(loaded["language"] == lang and loaded["one"] is False and loaded["two"] is True,
                      f"po.{lang}.js says its language and its plural rule (1 singular, 2 plural)", loaded)
                want = {k[1]: [e.plural] + [e.strs[i] for i in sorted(e.strs)] for k, e in entries.items()
                        if k in wanted}
                want = {k: [None] + v[1:] if v[0] is None else v for k, v in want.items()}
                check(loaded["keys"] == want, f"po.{lang}.js holds {lang}.po's translations, each as cockpit.locale wants",
                      {k: (loaded["keys"].get(k), v) for k, v in want.items() if loaded["keys"].get(k) != v})
        else:
            print(f"# po.{lang}.js not checked: " + ("no node" if js else "VPC_COCKPIT_BUILT not set"))
    finish()


main()
