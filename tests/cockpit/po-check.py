#!/usr/bin/python3
"""The page's translations are complete: every string that cockpit/po/extract.py finds in the page
(index.html's elements marked translate="...", the literal arguments of vpc.js's _(),
cockpit.gettext and cockpit.ngettext, the manifest's label) is in each cockpit/po/LANG.po, translated (not empty, not
fuzzy, both plural forms), with the same cockpit.format placeholders ($0, $1) as the English; no
catalogue keeps a string the page no longer has; and each catalogue's po.LANG.js, as the build
made it, gives cockpit.locale() those same strings (and runs in node, where there is one)."""

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
        check(js is not None and os.path.exists(js), f"the build made po.{lang}.js", js)
        if js and os.path.exists(js):
            # Read as the data it is: one cockpit.locale({...}) call whose only code is the plural
            # function (checked in node below where there is one).
            with open(js, encoding="utf-8") as f:
                text = f.read()
            m = re.fullmatch(r'cockpit\.locale\((\{.*\})\);\n', text, re.S)
            check(m is not None, f"po.{lang}.js is one cockpit.locale() call", text[:200])
            if m:
                data = json.loads(re.sub(r'"plural-forms": function\(n\) \{ return [^;]*; \}', '"plural-forms": null',
                                         m.group(1)))
                want = {k[1]: ([None, e.strs[0]] if e.plural is None else [e.plural] + [e.strs[i] for i in sorted(e.strs)])
                        for k, e in entries.items() if k in wanted}
                got = {k: v for k, v in data.items() if k != ""}
                check(got == want, f"po.{lang}.js holds {lang}.po's translations, each as cockpit.locale wants",
                      {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v})
        node = shutil.which("node") or shutil.which("nodejs")
        if js and node and os.path.exists(js):
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
                check(loaded["language"] == lang and loaded["one"] is False and loaded["two"] is True and
                      len(loaded["keys"]) == len(want),
                      f"po.{lang}.js runs in node: its language, its plural rule (1 singular, 2 plural), its strings",
                      {k: v for k, v in loaded.items() if k != "keys"})
        else:
            print(f"# po.{lang}.js not run in node (no node here); its plural rule runs in the browser tests")
    finish()


main()
