#!/usr/bin/python3
"""po2js.py IN.po OUT.js: a gettext catalogue as Cockpit's po.js, the script a page loads as po.js
(the bridge serves po.LANG.js for the language it negotiated): one call of cockpit.locale() with
{"": {"plural-forms": function, "language": ..., "language-direction": ...}, msgid: [msgid_plural
or null, msgstr, ...]}, the key of a string with a context being "context\\u0004msgid". Fuzzy and
untranslated entries are left out (cockpit.gettext then shows the English). No network, no gettext
tools: the build runs it (cockpit/meson.build)."""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pofile  # noqa: E402

RTL = {"ar", "fa", "he", "ur"}


def plural_function(forms):
    """Plural-Forms' C expression (nplurals=N; plural=EXPR;) as a JavaScript function of n. Only
    the characters such expressions are made of are let through: it becomes code."""
    m = re.fullmatch(r"\s*nplurals\s*=\s*(\d+)\s*;\s*plural\s*=\s*(.+?)\s*;?\s*", forms or "")
    if not m:
        raise ValueError(f"cannot read Plural-Forms: {forms!r}")
    expr = m.group(2)
    if not re.fullmatch(r"[n0-9\s()<>=!&|?:%+-]+", expr):
        raise ValueError(f"unexpected characters in the plural expression: {expr!r}")
    return f"function(n) {{ return {expr}; }}"


def convert(po_path):
    entries = pofile.parse(po_path)
    head = pofile.header(entries)
    lang = head.get("Language") or os.path.splitext(os.path.basename(po_path))[0]
    meta = ('{"plural-forms": ' + plural_function(head.get("Plural-Forms", "nplurals=2; plural=(n != 1);")) +
            ', "language": ' + json.dumps(lang) +
            ', "language-direction": ' + json.dumps("rtl" if lang.split("_")[0] in RTL else "ltr") + "}")
    items = []
    for e in entries:
        if e.id == "" or not e.translated:
            continue
        key = e.id if e.ctxt is None else e.ctxt + "\u0004" + e.id
        if e.plural is None:
            value = [None, e.strs[0]]
        else:
            value = [e.plural] + [e.strs[i] for i in sorted(e.strs)]
        items.append(json.dumps(key, ensure_ascii=False) + ": " + json.dumps(value, ensure_ascii=False))
    return ("cockpit.locale({\n \"\": " + meta + ",\n " + ",\n ".join(items) + "\n});\n")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: po2js.py IN.po OUT.js")
    text = convert(sys.argv[1])
    tmp = sys.argv[2] + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, sys.argv[2])


if __name__ == "__main__":
    main()
