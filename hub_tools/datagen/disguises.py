"""What a copy of a benchmark text can look like to a machine while it reads the same to a person.

Decontamination (:mod:`hub_tools.datagen.decontamination`) reads every text through :func:`comparable_text`
before lexing it, and a row's fields through :func:`readings` too:

- :func:`comparable_text`: characters that show as nothing dropped (every Unicode Default_Ignorable_Code_Point:
  zero-width spaces and joiners, the soft hyphen, direction marks, variation selectors, tag characters, the
  Hangul fillers; every format character, category Cf), compatibility forms folded (NFKD: fullwidth ``ｌｅｎ`` is
  ``len``, as Python reads an identifier), combining marks dropped (category M: an accent is no letter of its
  own, and a mark strewn inside an identifier leaves it one token), Greek and Cyrillic letters drawn like Latin
  ones read as those, and the Braille blank read as the space it looks like.
- :func:`readings`: a text pasted in escaped form is read with its escapes decoded as well: quoted as a JSON
  or Python string (``\\n``, ``\\t``, ``\\"``, ``\\\\``, ``\\u00e9``: :func:`unescaped`), or HTML-escaped
  (``&lt;``, ``&quot;``, ``&#39;``). Decoded is another reading, never the only one: a program with ``"\\n"``
  in a string is also read as written, so it matches itself exactly as before.

Out of scope: Armenian, Cherokee and other scripts with letters like Latin ones, letters like digits (``З``
for ``3``), and text that is visibly another (a paraphrase, letters spaced out).

Pure functions of text, no I/O.
"""

from __future__ import annotations

import ast
import functools
import html
import json
import re
import unicodedata
import warnings

from hub_tools.lintseq.format import _fenced_blocks
from hub_tools.recursion_budget import recursion_budget

# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt, Unicode 15.1) as ranges: format characters
# (Cf), the combining grapheme joiner, variation selectors, the Hangul and Khmer fillers, tags, and the
# code points reserved for more of them. Every format character (Cf) and combining mark (M) that this Python's
# Unicode knows is added when the pattern is built (:func:`_hidden`).
_IGNORABLE = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)
# Combining marks and format characters lie below U+20000 (and in plane 14, covered by the ranges above).
_SCANNED = range(0x80, 0x20000)

# Greek and Cyrillic letters drawn like Latin ones (the look-alikes of Unicode's confusables list that stand for
# a Latin letter on their own), and a few Latin letters drawn like others (dotless i and j, script a and g).
# Read before decomposition (NFKD reads lunate sigma as final sigma) and after it (an accented alpha is alpha).
_LOOK_ALIKE_PAIRS = (
    # Greek small: alpha gamma epsilon eta iota kappa nu omicron rho sigma tau upsilon chi omega, lunate sigma, yot
    ("αγεηικνορστυχωϲϳ", "ayenikvopotuxwcj"),
    # Greek capital: alpha beta epsilon zeta eta iota kappa mu nu omicron rho tau upsilon chi, lunate sigma, yot,
    # digamma
    ("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧϹͿϜ", "ABEZHIKMNOPTYXCJF"),
    # Cyrillic small: a ve ghe ie dze i je ka em en o pe er es te u ha, straight u, izhitsa, komi de, qa, we, shha,
    # palochka, omega, abkhazian che
    ("авгеѕіјкмнопрстухүѵԁԛԝһӏѡҽ", "abresijkmhonpctyxyvdqwhlwe"),
    # Cyrillic capital: a ve ie dze i je ka em en o er es te u ha, straight u, izhitsa, qa, we, shha, palochka
    ("АВЕЅІЈКМНОРСТУХҮѴԚԜҺӀ", "ABESIJKMHOPCTYXYVQWHI"),
    ("ıȷɑɡ", "ijag"),
)
_LOOK_ALIKES = str.maketrans("".join(pair[0] for pair in _LOOK_ALIKE_PAIRS), "".join(pair[1] for pair in _LOOK_ALIKE_PAIRS))
_BRAILLE_BLANK = "\u2800"  # shows as a space and is none: read as one (readings() also reads it as nothing)
_LOOK_ALIKES[ord(_BRAILLE_BLANK)] = " "


@functools.cache
def _hidden() -> re.Pattern:
    """One character class of everything :func:`comparable_text` drops: built on first use (40 ms), from this
    Python's Unicode tables, so a mark or format character it knows is never missed."""
    points = {point for low, high in _IGNORABLE for point in range(low, high + 1)}
    points.update(point for point in _SCANNED if unicodedata.category(chr(point))[0] == "M"
                  or unicodedata.category(chr(point)) == "Cf")
    ranges: list[list[int]] = []
    for point in sorted(points):
        if ranges and ranges[-1][1] == point - 1:
            ranges[-1][1] = point
        else:
            ranges.append([point, point])
    return re.compile("[" + "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in ranges) + "]")


def comparable_text(text: str) -> str:
    """``text`` as copies of it are compared: invisible characters (Default_Ignorable_Code_Point, Cf) dropped,
    compatibility forms folded and combining marks dropped (NFKD: fullwidth ``ｌｅｎ`` is ``len``, ``é`` is
    ``e``), Greek and Cyrillic look-alikes read as the Latin letters they imitate. ASCII text is returned as it
    is.

    >>> comparable_text("ｒｅｔｕｒｎ\u200b ｌｅｎ(ｘ)"), comparable_text("r\u0435turn"), comparable_text("l\u034fen\ufe0f")
    ('return len(x)', 'return', 'len')
    """
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKD", text.translate(_LOOK_ALIKES))
    return _hidden().sub("", text).translate(_LOOK_ALIKES)


# A backslash escape of a JSON or Python string: a character, or a code point of four hex digits.
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|([nrt\"'\\/]))")
_ESCAPED = {"n": "\n", "r": "\n", "t": "\t", '"': '"', "'": "'", "\\": "\\", "/": "/"}
# An HTML character reference that is clearly one: named, decimal or hexadecimal, with its semicolon.
_ENTITY = re.compile(r"&(?:[a-zA-Z][a-zA-Z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});")
# Escaped line breaks or quotes: this many make a text an escaped one (a program whose strings hold a "\n" or
# two is read once more as decoded, at no loss but the time).
_MIN_ESCAPES = 2


def _decoded_escape(match: re.Match) -> str:
    if match.group(1):
        point = int(match.group(1), 16)
        return match.group() if 0xD800 <= point <= 0xDFFF else chr(point)  # a half of a surrogate pair stays
    return _ESCAPED[match.group(2)]


def unescaped(text: str) -> str:
    """``text`` with its string escapes decoded when it holds at least two escaped line breaks, tabs or quotes;
    otherwise ``text`` itself.

    >>> unescaped('"def f(x):\\\\n    return \\\\"x\\\\"\\\\n"')
    '"def f(x):\\n    return "x"\\n"'
    >>> plain = "print('a\\\\nb')"
    >>> unescaped(plain) is plain
    True
    """
    if "\\" not in text or sum(text.count(escape) for escape in ("\\n", "\\t", '\\"', "\\'")) < _MIN_ESCAPES:
        return text
    return _ESCAPE.sub(_decoded_escape, text)


def readings(text: str) -> list[str]:
    """The ways a row's text is read: as written; HTML-unescaped when it holds a character reference
    (``&lt;``, ``&#39;``); with its string escapes decoded when it holds escaped text (:func:`unescaped`, twice
    for a string quoted twice); with Braille blanks read as nothing (as written they are spaces:
    :func:`comparable_text`). Each reading is compared: a program with ``"\\n"`` in its strings is still read
    as written.

    >>> readings("x = 1")
    ['x = 1']
    >>> readings("if a &lt; b: return &quot;yes&quot;")
    ['if a &lt; b: return &quot;yes&quot;', 'if a < b: return "yes"']
    >>> readings("s\u2800u\u2800m")
    ['s\u2800u\u2800m', 'sum']
    """
    found = [text]
    if "&" in text and _ENTITY.search(text):
        found.append(html.unescape(text))
    for reading in found[:]:
        for _ in range(2):
            decoded = unescaped(reading)
            if decoded is reading:
                break
            found.append(decoded)
            reading = decoded
    for reading in found[:]:
        bare = unmarked(reading)
        if bare is not reading:
            found.append(bare)
    if _BRAILLE_BLANK in text:
        found += [reading.replace(_BRAILLE_BLANK, "") for reading in found]
    return found


# What can open every line of a listing without being part of it: a diff's "+" or "-" (a patch that adds a
# file), a quote's ">", an interactive session's ">>>" and "...", a line number ("12 |", "12:", "12.", "12 ").
_LINE_MARKER = re.compile(r"^[ \t]*(?:[+\-](?![+\-=])|>{1,3}(?!>)|\.\.\.(?=[ \t\n]|$)|\d{1,5}(?:[ \t]*[|:.])?(?=[ \t]))",
                          re.MULTILINE)


def unmarked(text: str) -> str:
    """``text`` with the marker each of its lines opens with removed, when at least two lines and half of
    its lines that are not blank open with one (:data:`_LINE_MARKER`): a copy pasted as a diff, a quote, an
    interactive session or a numbered listing; otherwise ``text`` itself. The marker breaks up every n-gram
    across the line it opens.

    >>> print(unmarked("+def f(x):\\n+    y = x\\n+    return y"))
    def f(x):
        y = x
        return y
    >>> plain = "def f(x):\\n    return -x"
    >>> unmarked(plain) is plain
    True
    """
    markers = len(_LINE_MARKER.findall(text))
    if markers < 2 or 2 * markers < sum(1 for line in text.split("\n") if line.strip()):
        return text
    return _LINE_MARKER.sub("", text)


def code_pieces(text: str) -> list[str]:
    """Where a text beside the program (an instruction, a response) may hold code to compare under other names:
    each of its :func:`readings` as a whole (code pasted bare after a line of prose, a markdown block indented,
    a notebook's JSON, a diff) and each of their fenced blocks (code that parses on its own, so the builtins it
    binds are told from those it calls).

    >>> code_pieces("Fix this:\\n```python\\nx = 1\\n```")
    ['Fix this:\\n```python\\nx = 1\\n```', 'x = 1']
    """
    pieces = []
    for reading in readings(text):
        pieces.append(reading)
        if "```" in reading or "~~~" in reading:
            pieces += [code for _, code in _fenced_blocks(reading) if code.strip()]
    return pieces + [code for piece in pieces if '"cell_type"' in piece for code in _notebook_code(piece)]


@functools.lru_cache(maxsize=8)
def parsed(text: str) -> ast.Module | None:
    """The syntax tree of ``text``, or ``None`` when it does not parse. The same answer for deep code from any
    caller (hub_tools.recursion_budget); and no warning printed: the text compared can be prose beside code
    (``1st`` is an "invalid decimal literal"), and a warning on the console for each row says nothing. The
    last few are kept (a row's program is parsed for its names and for the code in its strings); callers only
    read the trees."""
    try:
        with warnings.catch_warnings(), recursion_budget():
            warnings.simplefilter("ignore")
            return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


# Shorter strings are not compared as code: a one-line template (``"return {x}"``) is no copy of anything.
_CODE_STRING_CHARACTERS = 60


def code_in_strings(program: str) -> list[str]:
    """Code a program holds as text rather than as code, to compare under other names too: a notebook's JSON
    that is the whole program (a dict literal to Python), and strings of several lines that parse as code with
    a function or a ``return`` in them (``SOLUTION = \"\"\"def ...\"\"\"``, ``exec("def ...")``, whose escapes
    Python has decoded). A renamed benchmark copy in either was found for 2 of 164 problems, against 155 as the
    program itself.

    >>> code_in_strings("exec('def twice(values):\\\\n    result = [v * 2 for v in values]\\\\n    return result')")
    ['def twice(values):\\n    result = [v * 2 for v in values]\\n    return result']
    """
    pieces = _notebook_code(program) if '"cell_type"' in program else []
    tree = parsed(program)
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "\n" in node.value.strip() \
                and len(node.value) >= _CODE_STRING_CHARACTERS and ("def " in node.value or "return" in node.value) \
                and parsed(node.value) is not None:
            pieces.append(node.value)
    return pieces


def _notebook_code(text: str) -> list[str]:
    """The code cells of a Jupyter notebook's JSON, joined: decoded, its lines are still quoted one by one,
    and compared under other names, strings are dropped."""
    try:
        notebook = json.loads(text)
    except ValueError:
        return []
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    sources = [cell.get("source") for cell in cells or () if isinstance(cell, dict) and cell.get("cell_type") == "code"]
    code = "\n".join("".join(source) if isinstance(source, list) else source for source in sources
                     if isinstance(source, str) or (isinstance(source, list) and all(isinstance(line, str) for line in source)))
    return [code] if code.strip() else []
