"""Characters that must never reach a reader raw, and how to show them instead.

A record, a history or a log line may hold characters a person cannot see or that change
what they see: control characters (a terminal runs ESC sequences; a line feed forges a
log line), bidirectional overrides (U+202E makes « fdp.exe » read « exe.pdf »), zero-width
characters, Unicode noncharacters and lone surrogates (XML, so XLSX, cannot carry them).
The collector refuses them at intake (validation.py, records.clean_text); a file edited
by hand may hold them anyway, so every place that shows text to a person (review pages,
commands, exports, mails, logs) passes it through `shown` or `escaped` here.
"""

from __future__ import annotations

import re

# Bidirectional formatting: embeddings, overrides, isolates, and the invisible marks.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# Invisible characters that take no room: zero-width space, (non-)joiners, word joiner,
# byte order mark, Mongolian vowel separator.
ZERO_WIDTH = "\u200b-\u200d\u2060\ufeff\u180e"
# The 66 noncharacters: U+FDD0…U+FDEF and the last two code points of every plane.
NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17))
SURROGATES = "\ud800-\udfff"
# C0 controls but tab and line feed, DEL, C1 controls.
CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f"

HIDDEN = re.compile(f"[{CONTROLS}{BIDI_CONTROLS}{ZERO_WIDTH}{NONCHARACTERS}{SURROGATES}\u2028\u2029]")
HIDDEN_ON_ONE_LINE = re.compile(f"[{CONTROLS}{BIDI_CONTROLS}{ZERO_WIDTH}{NONCHARACTERS}{SURROGATES}"
                                "\u2028\u2029\t\n]")
INVISIBLE_IN_SHORT_TEXT = re.compile(f"[{BIDI_CONTROLS}{ZERO_WIDTH}]")
NONCHARACTER = re.compile(f"[{NONCHARACTERS}]")
LOG_UNSAFE = re.compile(f"[{CONTROLS}{BIDI_CONTROLS}\t\n\u2028\u2029]")


def code_point(char: str) -> str:
    """`U+202E`: how a French message or a marker names a character."""
    return f"U+{ord(char):04X}"


def _marker(match: re.Match[str]) -> str:
    return f"[{code_point(match.group())}]"


def shown(text: str, *, multiline: bool = True) -> str:
    """`text` as a reader may see it: each hidden character becomes a visible `[U+XXXX]`
    (tab and line feed are kept when `multiline`)."""
    pattern = HIDDEN if multiline else HIDDEN_ON_ONE_LINE
    return pattern.sub(_marker, text) if pattern.search(text) else text


def escaped(text: str) -> str:
    """`text` for one log line: control and bidi characters as `\\x1b`, `\\n`, `\\u202e`."""
    if not LOG_UNSAFE.search(text):
        return text
    return LOG_UNSAFE.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)


def category_name(char: str) -> str:
    """A short French description of a hidden character, for a refusal message."""
    if re.fullmatch(f"[{BIDI_CONTROLS}]", char):
        return "un caractère de contrôle du sens d'écriture"
    if re.fullmatch(f"[{ZERO_WIDTH}]", char):
        return "un caractère invisible (sans largeur)"
    if NONCHARACTER.fullmatch(char):
        return "un caractère réservé, qui n'est pas du texte"
    return "un caractère invalide"
