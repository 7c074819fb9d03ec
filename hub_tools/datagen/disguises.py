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

import functools
import html
import re
import unicodedata

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
    if _BRAILLE_BLANK in text:
        found += [reading.replace(_BRAILLE_BLANK, "") for reading in found]
    return found
