"""A fast block-style YAML writer for records: mappings, lists of scalars, texts, numbers.

PyYAML's dumper runs its representer and serializer in Python for every value: about a
third of a submission's cost in the profile. Records have one small, known shape, so
this module writes them directly, in the style the library would choose:

- plain text when PyYAML's own resolver reads it back as text (`Falaise`, not `yes`,
  `~`, `14000` or `2021-05-28`, which are quoted);
- a literal block (`|-`) for text on several lines, so a description stays readable;
- double quotes, with YAML escapes, for everything else.

It never guesses: records.serialise_record reads every text back with PyYAML's loader
and compares it with the data, and falls back to the library's dumper for a shape this
module does not cover (`UnsupportedShape`) or any text it would get wrong.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from yaml.resolver import Resolver

from .yamlio import STR_TAG, implicit_tag

INDENT = "  "

# First characters for which PyYAML's resolver may read a plain scalar as something else
# than text (numbers, booleans, null, dates, merge keys…); any other text stays text.
_RESOLVED_FIRST = frozenset(Resolver.yaml_implicit_resolvers)
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@` \t")
# Characters a plain or block scalar must not hold: controls, line breaks other than
# LF, the byte order mark, lone surrogates; plus the sequences that end a plain scalar.
_NOT_PRINTABLE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff"
_NOT_PLAIN = re.compile(f"[{_NOT_PRINTABLE}\t\n]")
_NOT_BLOCK = re.compile(f"[{_NOT_PRINTABLE}\t]")
_ESCAPE_IN_QUOTES = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")


class UnsupportedShape(TypeError):
    """The data holds a type or a nesting this writer leaves to the library's dumper."""


def _reads_as_text(value: str) -> bool:
    return value[0] not in _RESOLVED_FIRST or implicit_tag(value) == STR_TAG


def _plain(value: str) -> bool:
    """True when `value` can be written unquoted and read back as the same text."""
    return (value != "" and value[0] not in _INDICATORS and not value[-1].isspace() and value[-1] != ":"
            and ": " not in value and " #" not in value and not _NOT_PLAIN.search(value)
            and _reads_as_text(value))


def _double_quoted(value: str) -> str:
    # A JSON string is a valid YAML double-quoted scalar; YAML also wants C1 controls,
    # the Unicode line separators and the byte order mark escaped.
    quoted = json.dumps(value, ensure_ascii=False)
    return _ESCAPE_IN_QUOTES.sub(lambda match: f"\\u{ord(match.group()):04x}", quoted)


def _literal_block(value: str, indent: str) -> str | None:
    """A literal block (`|-`, or `|` for a text ending with one line break), or None when
    a block could not hold this text exactly (leading space, trailing blanks, controls)."""
    body, header = (value[:-1], "|") if value.endswith("\n") else (value, "|-")
    if not body or body[0] in " \n" or body[-1] in " \n" or _NOT_BLOCK.search(body):
        return None
    lines = (indent + line if line else "" for line in body.split("\n"))
    return header + "\n" + "\n".join(lines)


def _text(value: str, indent: str) -> str:
    if "\n" in value:
        return _literal_block(value, indent) or _double_quoted(value)
    return value if _plain(value) else _double_quoted(value)


def scalar(value: Any, indent: str = "") -> str:
    """One scalar as YAML text (a literal block starts on the next lines, at `indent`)."""
    if type(value) is str:
        return _text(value, indent)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if type(value) is int:
        return str(value)
    raise UnsupportedShape(type(value).__name__)


@lru_cache(maxsize=1024)  # a record's keys are the form's field names: the same in every record
def _key(key: str) -> str:
    if type(key) is not str or len(key) > 128:  # YAML caps implicit keys at 1024 characters
        raise UnsupportedShape("key")
    return key if _plain(key) else _double_quoted(key)


def _mapping(data: dict[str, Any], indent: str, out: list[str]) -> None:
    inner = indent + INDENT
    for key, value in data.items():
        head = indent + _key(key) + ":"
        kind = type(value)
        if kind is str:
            out.append(head + " " + _text(value, inner))
        elif kind is dict:
            if value:
                out.append(head)
                _mapping(value, inner, out)
            else:
                out.append(head + " {}")
        elif kind is list:
            if value:
                out.append(head)
                out.extend(indent + "- " + scalar(item, inner) for item in value)
            else:
                out.append(head + " []")
        else:
            out.append(head + " " + scalar(value, inner))


def dump_block_yaml(data: dict[str, Any]) -> str:
    """A mapping as block-style UTF-8 YAML, keys in their order; UnsupportedShape otherwise."""
    if type(data) is not dict or not data:
        raise UnsupportedShape("not a mapping")
    out: list[str] = []
    _mapping(data, "", out)
    return "\n".join(out) + "\n"
