"""A message's bytes as SMTP carries them, written with less work per message than the library's default.

Profiling the mailer's composing (cProfile, 300 records) showed most of its time in the email
generator's header folding: the compat32 policy builds an `email.header.Header` for every
header of every message, even `MIME-Version: 1.0`, and splits it again to fold it at 78
columns. Most of our headers are short one-line ASCII values (a date, a Message-ID, a
reference, an address) that folding leaves exactly as they are, and the rest (the sender's
display name) is the same in every message.

`WIRE_POLICY` is compat32 with CRLF line endings and two shortcuts that give the very bytes
the library would (tests/review/test_mail_wire.py compares them):
- a header whose value is printable ASCII, single-spaced, without surrounding space, and
  whose line fits in 78 characters is written as `Name: value` directly;
- any other text value is folded by the library once and remembered (a bounded cache: the
  From header, the same in every message, is folded once per process).
`Header` objects are folded by the library.

`encoded_words` writes a non-ASCII header (a subject with « é », which names the dossier, so
differs in every message) as RFC 2047 base64 encoded words, already folded: the library's
`Header` measures the encoded length again for every character it adds (about a third of the cost
of composing a message, measured). The words are split between characters, never inside
one, each at most 75 characters long on a line of at most 78.
"""

from __future__ import annotations

import re
from base64 import b64encode
from functools import lru_cache

from email.policy import Compat32
from email.message import Message

MAX_LINE = 78  # RFC 5322's recommended line length, compat32's default
MAX_ENCODED_WORD = 75  # RFC 2047, section 2
_WORD_START, _WORD_END = "=?utf-8?b?", "?="
# One printable ASCII token after another, single spaces between them: what folding leaves as it is.
_UNCHANGED_BY_FOLDING = re.compile(r"[!-~]+(?: [!-~]+)*")


class Folded(str):
    """A header value already encoded and folded for the wire: written as it is."""


def encoded_words(name: str, text: str) -> Folded:
    """`text` (one line) as base64 encoded words for the header `name`, folded at MAX_LINE."""
    data = text.encode("utf-8")
    overhead = len(_WORD_START) + len(_WORD_END)
    words: list[str] = []
    room = MAX_LINE - len(name) - 2  # the first line starts with "Name: ", the next ones with a space
    start = 0
    while start < len(data) or not words:
        end = min(len(data), start + (min(MAX_ENCODED_WORD, room) - overhead) // 4 * 3)
        while end < len(data) and data[end] & 0xC0 == 0x80:  # never inside a character: back to its start
            end -= 1
        words.append(_WORD_START + b64encode(data[start:end]).decode("ascii") + _WORD_END)
        start, room = end, MAX_LINE - 1
    return Folded("\r\n ".join(words))


@lru_cache(maxsize=256)
def _folded(name: str, value: str) -> bytes:
    return Compat32.fold_binary(WIRE_POLICY, name, value)


class _WirePolicy(Compat32):
    """compat32, CRLF, with the shortcuts of the module docstring."""

    def fold_binary(self, name: str, value: object) -> bytes:
        if isinstance(value, Folded):
            return f"{name}: {value}\r\n".encode("ascii")
        if not isinstance(value, str):
            return super().fold_binary(name, value)
        if len(name) + 2 + len(value) <= MAX_LINE and _UNCHANGED_BY_FOLDING.fullmatch(value):
            return f"{name}: {value}\r\n".encode("ascii")
        return _folded(name, value)


WIRE_POLICY = _WirePolicy(linesep="\r\n")


def wire_bytes(message: Message) -> bytes:
    """The message as SMTP carries it: CRLF line endings, whatever API composed it."""
    if type(message.policy) is Compat32:  # noqa: E721 - exactly compat32: a subclass may fold otherwise
        return message.as_bytes(policy=WIRE_POLICY)
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
