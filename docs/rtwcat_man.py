#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Generate the rtwcat(1) manual page (docs/rtwcat.1, roff -man) from docs/rtwcat.md, so the
# two never disagree. Handles the Markdown that rtwcat.md uses: headings, paragraphs, fenced
# code, tables (one .TP item per row), definition lists (`term` then ": text"), bullet lists,
# `code` and **bold**.
#
# usage: rtwcat_man.py [rtwcat.md [rtwcat.1]]      write the page
#        rtwcat_man.py --check rtwcat.md rtwcat.1   exit 1 (with a diff hint) when stale
#
# The test rtwcat_man_page (suite tools) runs --check; after editing rtwcat.md, run
# `docs/rtwcat_man.py docs/rtwcat.md docs/rtwcat.1`.

import os
import re
import sys


def esc(text):
    """Escape roff specials in running text."""
    return text.replace("\\", "\\e")


def inline(text):
    """`code` and **bold** to bold; hyphens in code become \\- (real minus signs, so that
    options can be searched and copied); everything escaped."""
    out = []
    pos = 0
    for m in re.finditer(r"`([^`]+)`|\*\*([^*]+)\*\*", text):
        out.append(esc(text[pos:m.start()]))
        word = m.group(1) if m.group(1) is not None else m.group(2)
        out.append("\\fB" + esc(word).replace("-", "\\-") + "\\fR")
        pos = m.end()
    out.append(esc(text[pos:]))
    return "".join(out)


def line_out(text):
    """A text line: a leading '.' or '\\'' would be read as a request."""
    if text.startswith((".", "'")):
        return "\\&" + text
    return text


def cells(row):
    return [c.strip() for c in row.strip().strip("|").split("|")]


def convert(md):
    lines = md.split("\n")
    out = ['.\\" Generated from docs/rtwcat.md by docs/rtwcat_man.py; do not edit.',
           '.TH RTWCAT 1 "" "rtweb" "User Commands"']
    i = 0
    para = []

    def flush():
        if para:
            out.append(line_out(inline(" ".join(para))))
            para.clear()

    while i < len(lines):
        ln = lines[i]
        if ln.startswith("# "):
            i += 1
            continue
        if ln.startswith("## ") or ln.startswith("### "):
            flush()
            level, title = ln.split(" ", 1)
            out.append((".SH " if level == "##" else ".SS ") + '"' + esc(title) + '"')
            i += 1
            continue
        if ln.startswith("```"):
            flush()
            out += [".PP", ".RS 4", ".nf"]
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                out.append(line_out(esc(lines[i])))
                i += 1
            out += [".fi", ".RE"]
            i += 1
            continue
        if ln.startswith("|"):
            flush()
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(cells(lines[i]))
                i += 1
            head = rows[0]
            for row in rows[2:]:  # the header and the separator row are dropped
                if len(row) > 2:  # name the columns after the first: "Default: 30 s. ..."
                    body = ". ".join("%s: %s" % (h, c) for h, c in zip(head[1:], row[1:]))
                else:
                    body = " ".join(row[1:])
                out += [".TP", line_out(inline(row[0])), line_out(inline(body))]
            out.append(".PP")
            continue
        if ln.startswith("- "):
            flush()
            item = [ln[2:]]
            i += 1
            while i < len(lines) and lines[i].startswith("  "):
                item.append(lines[i].strip())
                i += 1
            out += [".IP \\(bu 2", line_out(inline(" ".join(item)))]
            continue
        if i + 1 < len(lines) and lines[i + 1].startswith(": ") and ln.strip():
            flush()
            term = ln
            body = [lines[i + 1][2:]]
            i += 2
            while i < len(lines) and lines[i].startswith("  "):
                body.append(lines[i].strip())
                i += 1
            out += [".TP", line_out(inline(term)), line_out(inline(" ".join(body)))]
            continue
        if not ln.strip():
            flush()
            out.append(".PP")  # also ends a list: the next text is a new paragraph
            i += 1
            continue
        para.append(ln.strip())
        i += 1
    flush()
    # tidy: no paragraph break right before a section or after another
    tidy = []
    for o in out:
        if o == ".PP" and tidy and (tidy[-1] == ".PP" or tidy[-1].startswith((".SH", ".SS"))):
            continue
        if o.startswith((".SH", ".SS")) and tidy and tidy[-1] == ".PP":
            tidy.pop()
        tidy.append(o)
    return "\n".join(tidy) + "\n"


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    check = len(argv) > 1 and argv[1] == "--check"
    args = argv[2:] if check else argv[1:]
    src = args[0] if len(args) > 0 else os.path.join(here, "rtwcat.md")
    dst = args[1] if len(args) > 1 else os.path.join(here, "rtwcat.1")
    with open(src, encoding="utf-8") as f:
        page = convert(f.read())
    if check:
        try:
            with open(dst, encoding="utf-8") as f:
                same = f.read() == page
        except OSError:
            same = False
        print("1..1")
        if same:
            print("ok 1 - %s is generated from %s" % (os.path.basename(dst),
                                                     os.path.basename(src)))
            return 0
        print("not ok 1 - %s is stale: run docs/rtwcat_man.py %s %s" % (dst, src, dst))
        return 1
    with open(dst, "w", encoding="utf-8") as f:
        f.write(page)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
