"""Reads a gettext .po file (the subset msgfmt writes and translators' tools keep: msgctxt, msgid,
msgid_plural, msgstr, msgstr[N], "#," flags, obsolete "#~" entries skipped) for po2js.py and the
cockpit suite's translation check. Standard library only."""

import ast


class Entry:
    def __init__(self):
        self.ctxt = None
        self.id = None
        self.plural = None
        self.strs = {}          # index (0 for a plain msgstr) -> text
        self.flags = set()

    @property
    def fuzzy(self):
        return "fuzzy" in self.flags

    @property
    def translated(self):
        n = 2 if self.plural is not None else 1
        return not self.fuzzy and all(self.strs.get(i) for i in range(n))


def _string(text, where):
    text = text.strip()
    if not (text.startswith('"') and text.endswith('"')):
        raise ValueError(f"{where}: not a quoted string: {text}")
    # A PO string is a C string literal; Python's reading of one agrees on every escape gettext writes.
    return ast.literal_eval(text)


def parse(path):
    """The entries of `path`, header (msgid "") first, in file order."""
    entries = []
    cur = Entry()
    last = None                 # (entry, field, index) that continuation lines extend

    def flush():
        nonlocal cur
        if cur.id is not None:
            entries.append(cur)
        cur = Entry()

    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            where = f"{path}:{n}"
            line = line.rstrip("\n")
            if not line.strip():
                continue
            if line.startswith("#~"):
                continue
            if line.startswith("#,"):
                if cur.id is not None:
                    flush()
                cur.flags.update(x.strip() for x in line[2:].split(","))
                continue
            if line.startswith("#"):
                continue
            if line.startswith('"'):
                if last is None:
                    raise ValueError(f"{where}: continuation without a keyword")
                e, field, i = last
                if field == "strs":
                    e.strs[i] += _string(line, where)
                else:
                    setattr(e, field, getattr(e, field) + _string(line, where))
                continue
            key, _, rest = line.partition(" ")
            if key == "msgctxt":
                flush()
                cur.ctxt = _string(rest, where)
                last = (cur, "ctxt", None)
            elif key == "msgid":
                if cur.id is not None:
                    flush()
                cur.id = _string(rest, where)
                last = (cur, "id", None)
            elif key == "msgid_plural":
                cur.plural = _string(rest, where)
                last = (cur, "plural", None)
            elif key == "msgstr":
                cur.strs[0] = _string(rest, where)
                last = (cur, "strs", 0)
            elif key.startswith("msgstr[") and key.endswith("]"):
                i = int(key[7:-1])
                cur.strs[i] = _string(rest, where)
                last = (cur, "strs", i)
            else:
                raise ValueError(f"{where}: unknown line: {line}")
    flush()
    return entries


def header(entries):
    """The header's fields ({"Plural-Forms": ..., "Language": ...})."""
    h = next((e for e in entries if e.id == "" and e.ctxt is None), None)
    out = {}
    if h:
        for line in h.strs.get(0, "").split("\n"):
            k, sep, v = line.partition(":")
            if sep:
                out[k.strip()] = v.strip()
    return out
