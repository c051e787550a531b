"""specparse.py - read the KMIP specification texts of /work/shared/spec.

The specifications were converted from HTML to text; a table became a run of
lines where a line that is exactly "|" separates rows and a cell ends with a
line ending in "|" (the last cell of a row does not). A cell may span several
lines ("Content Commitment" / "(Non Repudiation)   |"). A table ends at its
caption ("Table 288: Tag Values"), or at a blank line not followed by "|".

This module only turns text into tables tagged with the numbered heading
that precedes them; gen_dict.py decides what the tables mean.
"""
import re

HEADING = re.compile(r'^(\d+(?:\.\d+)*)\s+(\S.*?)\s*$')
TOC_LINE = re.compile(r'(\.\s*\d+|\.{3,}\s*\d+)\s*$')
CAPTION = re.compile(r'^Table\s+\d+\s*:')


class Table:
    def __init__(self, section, heading, lineno):
        self.section = section      # "9.1.3.2.1" (may be None)
        self.heading = heading      # "Credential Type Enumeration"
        self.lineno = lineno        # 1-based line of the first "|"
        self.rows = []              # list of list of str
        self.caption = None

    def __repr__(self):
        return 'Table(%s %r @%d, %d rows)' % (self.section, self.heading, self.lineno, len(self.rows))


def _cells(row_lines):
    cells, cur = [], []
    for ln in row_lines:
        s = ln.rstrip()
        if s.endswith('|'):
            cur.append(s[:-1].strip())
            cells.append(' '.join(x for x in cur if x))
            cur = []
        else:
            cur.append(s.strip())
    last = ' '.join(x for x in cur if x)
    if last or not cells:
        cells.append(last)
    else:
        cells.append('')
    # Normalise inner whitespace and non-breaking spaces.
    return [re.sub(r'\s+', ' ', c.replace('\u00a0', ' ')).strip() for c in cells]


def _is_heading(line):
    m = HEADING.match(line)
    if not m or TOC_LINE.search(line) or line.rstrip().endswith('|'):
        return None
    # "12 December 2019" style dates are cells, not headings; headings start
    # with a capital letter word and the number has a plausible depth.
    title = m.group(2)
    if not title[0].isalpha() or not title[0].isupper():
        return None
    return m.group(1), title


def tables(path):
    with open(path, encoding='utf-8') as f:
        lines = f.read().split('\n')
    out = []
    section, heading = None, None
    i, n = 0, len(lines)
    while i < n:
        s = lines[i].strip()
        if s != '|':
            h = _is_heading(lines[i].strip())
            if h:
                section, heading = h
            i += 1
            continue
        t = Table(section, heading, i + 1)
        row = None
        while i < n:
            s = lines[i].strip()
            if s == '|':
                if row is not None:
                    t.rows.append(_cells(row))
                row = []
                i += 1
                continue
            if CAPTION.match(s):
                t.caption = s
                i += 1
                break
            if s == '':
                j = i + 1
                if j < n and lines[j].strip() == '|':
                    row.append('')
                    i += 1
                    continue
                # blank not followed by a row separator: the row's empty last
                # cell, then the end of the table (unless a caption follows)
                if j < n and CAPTION.match(lines[j].strip()):
                    t.caption = lines[j].strip()
                    i = j + 1
                    break
                i += 1
                break
            if _is_heading(s) and row is not None and row and not row[-1].rstrip().endswith('|') \
                    and len(row) >= 1 and re.match(r'^\d+\.\d', s):
                break
            row.append(lines[i])
            i += 1
        if row:
            t.rows.append(_cells(row))
        out.append(t)
    return out, lines
