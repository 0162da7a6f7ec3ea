#!/usr/bin/python3
"""extract.py [PAGE_DIR]: every translatable string of the Cockpit page, as a .pot on standard
output (for a translator's msgmerge), and as a list for the cockpit suite's translation check.

- index.html: the elements cockpit.translate() handles: translate="yes" (their text) and
  translate="ATTR ..." (those attributes' values), translate-context="..." as the context.
- *.js: the literal first arguments of _("..."), cockpit.gettext("..."), and both of
  cockpit.ngettext("...", "...", n); also in vpc-errors.js, which the build makes from
  service/errors.table (service/errors-generate.py).
- manifest.json: the tools' labels, which the shell's menu shows through cockpit.gettext (the
  shell loads every package's po.js, ../*/po.js, this one's too). A string built at run time cannot be extracted: the page
  passes literals only (numbers and names go in with cockpit.format's $0)."""

import html.parser
import importlib.util
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PAGE = os.path.join(HERE, "..", "vpc")
ERRORS_GENERATE = os.path.join(HERE, "..", "..", "service", "errors-generate.py")
ERRORS_TABLE = os.path.join(HERE, "..", "..", "service", "errors.table")
ERRORS_JS = "vpc-errors.js"

STRING = r'"((?:[^"\\\n]|\\.)*)"'
CALL = re.compile(r'(?<![\w.])(?:_|cockpit\.gettext)\(\s*' + STRING + r'\s*[,)]')
NCALL = re.compile(r'cockpit\.ngettext\(\s*' + STRING + r'\s*,\s*' + STRING + r'\s*,')


class Message:
    def __init__(self, msgid, plural=None, ctxt=None, where=""):
        self.id, self.plural, self.ctxt, self.where = msgid, plural, ctxt, where

    @property
    def key(self):
        return (self.ctxt, self.id)


def _js_string(s):
    return json.loads('"' + s + '"')


class _HTML(html.parser.HTMLParser):
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self, name):
        super().__init__(convert_charrefs=True)
        self.name = name
        self.out = []
        self.stack = []     # [tag, collecting text?, text, context, line]

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        line = self.getpos()[0]
        words = (a.get("translate") or a.get("translatable") or "").split()
        if "translate" in a or "translatable" in a:
            words = words or ["yes"]
        ctxt = a.get("translate-context") or a.get("context")
        for w in words:
            if w not in ("yes", "translate", "no") and a.get(w):
                self.out.append(Message(a[w], ctxt=ctxt, where=f"{self.name}:{line} ({tag} {w}=)"))
        if tag in self.VOID:
            return
        self.stack.append([tag, "yes" in words or "translate" in words, "", ctxt, line])

    def handle_endtag(self, tag):
        while self.stack:
            t, collect, text, ctxt, line = self.stack.pop()
            if collect and text.strip():
                self.out.append(Message(text, ctxt=ctxt, where=f"{self.name}:{line} (<{t}>)"))
            if t == tag:
                break

    def handle_data(self, data):
        for item in self.stack:
            if item[1]:
                item[2] += data


def messages(page=PAGE):
    """Every Message of the page, in source order, duplicates kept (with where they are)."""
    out = []
    for name in sorted(os.listdir(page)):
        path = os.path.join(page, name)
        if name.endswith(".html"):
            p = _HTML(name)
            with open(path, encoding="utf-8") as f:
                p.feed(f.read())
            p.close()
            out += p.out
        elif name == "manifest.json":
            with open(path, encoding="utf-8") as f:
                manifest = json.load(f)
            for section in ("tools", "menu", "dashboard"):
                for key, item in sorted(manifest.get(section, {}).items()):
                    if item.get("label"):
                        out.append(Message(item["label"], where=f"{name} ({section}.{key}.label)"))
        elif name.endswith(".js") and not name.startswith("po."):
            with open(path, encoding="utf-8") as f:
                out += _js_messages(name, f.read())
    out += _js_messages(ERRORS_JS, _errors_js())
    return out


def _js_messages(name, src):
    out = []
    for m in CALL.finditer(src):
        line = src.count("\n", 0, m.start()) + 1
        out.append(Message(_js_string(m.group(1)), where=f"{name}:{line}"))
    for m in NCALL.finditer(src):
        line = src.count("\n", 0, m.start()) + 1
        out.append(Message(_js_string(m.group(1)), _js_string(m.group(2)), where=f"{name}:{line}"))
    return out


def _errors_js():
    """The page's vpc-errors.js as the build makes it from the error table (not in the source tree)."""
    spec = importlib.util.spec_from_file_location("errors_generate", ERRORS_GENERATE)
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    return gen.generate(ERRORS_TABLE, "js")


def _po_string(s):
    return json.dumps(s, ensure_ascii=False)


def main():
    page = sys.argv[1] if len(sys.argv) > 1 else PAGE
    seen = {}
    for m in messages(page):
        if m.key in seen:
            seen[m.key][1].append(m.where)
        else:
            seen[m.key] = (m, [m.where])
    print('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n')
    for m, wheres in seen.values():
        for w in wheres:
            print(f"#: {w}")
        if m.ctxt is not None:
            print(f"msgctxt {_po_string(m.ctxt)}")
        print(f"msgid {_po_string(m.id)}")
        if m.plural is not None:
            print(f"msgid_plural {_po_string(m.plural)}\nmsgstr[0] \"\"\nmsgstr[1] \"\"\n")
        else:
            print('msgstr ""\n')


if __name__ == "__main__":
    main()
