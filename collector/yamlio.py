"""YAML reading and writing shared by the facts, the form definition and the records.

Uses libyaml's C loader and dumper when present (about 20 times faster than the pure
Python ones) and the safe subset only: no tag can build a Python object.

Records, histories and the review area's files never hold YAML aliases (`&a` … `*a`):
the writers never make one (`ReadableDumper.ignore_aliases`), and `FastSafeLoader`
refuses a document that uses one before building anything, so neither a collection that
contains itself nor an "alias bomb" (a few hundred bytes that expand to millions of
nodes) can reach the code that reads them. Only regular files are read: a FIFO or a
device named `*.yaml` is refused without being opened for reading.
"""

from __future__ import annotations

import os
import stat
from functools import lru_cache
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from .yaml_french import french_problem

SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SafeDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
STR_TAG, SEQ_TAG, MAP_TAG = (f"tag:yaml.org,2002:{kind}" for kind in ("str", "seq", "map"))
_RESOLVER = Resolver()


@lru_cache(maxsize=4096)
def _resolve_short_scalar(value: str, implicit: tuple[bool, bool]) -> str:
    return _RESOLVER.resolve(ScalarNode, value, implicit)


def implicit_tag(value: str, implicit: tuple[bool, bool] = (True, False)) -> str:
    """The tag PyYAML's resolver gives this scalar (default: written plain, unquoted).

    With no path resolvers the answer depends on the text alone, so it is cached for
    short texts (keys, choices, which come back in every record)."""
    if len(value) <= 64:
        return _resolve_short_scalar(value, implicit)
    return _RESOLVER.resolve(ScalarNode, value, implicit)


# A plain scalar's tag depends on its text alone (Resolver.resolve reads implicit[0] only).
_PLAIN_TAGS: dict[str, str] = {}

ALIAS_REFUSED = "un alias YAML (*nom) renvoie à une autre partie du fichier ; écrivez la valeur elle-même"


def refuse_aliases(root: Node) -> None:
    """Raise ConstructorError if the composed document uses an alias.

    The composer turns an alias into the very node its anchor names, so a node met twice
    while walking the graph is an alias. Each node is visited once: an alias bomb is
    refused in time proportional to its size, before any expansion."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            raise ConstructorError(None, None, ALIAS_REFUSED, node.start_mark)
        seen.add(id(node))
        if isinstance(node, SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, MappingNode):
            for key, value in node.value:
                stack.extend((key, value))


class FastSafeLoader(SafeLoader):  # type: ignore[misc, valid-type]
    """The safe loader, quicker on what records and histories are made of.

    Texts, lists and text-keyed mappings are built straight from the parsed nodes; every
    other node (numbers, booleans, dates, merge keys, other tags) goes through the
    library's own SafeConstructor. A document that uses an alias is refused
    (`refuse_aliases`). Scalars are resolved through `implicit_tag` (cached).
    """

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        # An alias is written `*name`: a text without any `*` cannot hold one, and its
        # nodes need not be walked to find out (a fifth of the time a record takes to load).
        self._may_hold_aliases = not isinstance(stream, (str, bytes)) or "*" in stream  # type: ignore[operator]

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            if not implicit[0]:  # quoted or a block: a text, as Resolver.resolve would say
                return STR_TAG
            tag = _PLAIN_TAGS.get(value)  # keys and choices, met in every record
            if tag is None:
                tag = implicit_tag(value, implicit)
                if len(value) <= 64 and len(_PLAIN_TAGS) < 4096:
                    _PLAIN_TAGS[value] = tag
            return tag
        return super().resolve(kind, value, implicit)

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        """Nothing to do: this loader has no path resolvers (the C composer calls it for every node)."""

    def ascend_resolver(self) -> None:
        """Nothing to do (see descend_resolver)."""

    def construct_document(self, node: Node) -> Any:
        if self._may_hold_aliases:
            refuse_aliases(node)  # so no node below is met twice, and none contains itself
        try:
            data = self._build(node)
            while self.state_generators:  # as BaseConstructor.construct_document does
                generators, self.state_generators = self.state_generators, []
                for generator in generators:
                    for _ in generator:
                        pass
            return data
        finally:
            self.constructed_objects, self.recursive_objects, self.deep_construct = {}, {}, False

    def _build(self, node: Node) -> Any:
        tag, kind = node.tag, type(node)
        if kind is ScalarNode and tag == STR_TAG:
            return node.value
        if kind is SequenceNode and tag == SEQ_TAG:
            return [self._build(item) for item in node.value]
        if (kind is MappingNode and tag == MAP_TAG
                and all(type(key) is ScalarNode and key.tag == STR_TAG for key, _ in node.value)):
            return {key.value: self._build(value) for key, value in node.value}
        return self.construct_object(node, deep=True)


class ReadableDumper(SafeDumper):  # type: ignore[misc, valid-type]
    """The safe dumper, writing multi-line texts as literal block scalars (`|`), and a
    value met twice in full each time (never an alias, which the loader refuses)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


ReadableDumper.add_representer(str, _represent_text)


class PlainDateLoader(yaml.SafeLoader):
    """A safe loader that leaves dates as strings, so a schema can check them by field name.

    PyYAML would otherwise turn `2021-02-30` into an exception without saying which key
    held it.
    """


PlainDateLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class FastPlainDateLoader(SafeLoader):  # type: ignore[misc, valid-type]
    """PlainDateLoader on libyaml's parser: the facts and the form definition are read at
    every start (each command's too), and the pure Python parser took most of that time.
    A document it refuses is parsed again by PlainDateLoader, whose messages
    yaml_french.py translates."""


FastPlainDateLoader.yaml_implicit_resolvers = PlainDateLoader.yaml_implicit_resolvers


class YamlFileError(ValueError):
    """A YAML file that cannot be read, with a message that names the file and the place."""


class NotRegularFile(OSError):
    """A FIFO, a device or a folder where a file was expected (reading it could hang)."""


def read_regular_file(path: str) -> bytes:
    """The bytes of a regular file; NotRegularFile for anything else, without waiting on it.

    O_NONBLOCK makes opening a FIFO return at once instead of waiting for a writer."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile(f"{os.path.basename(path)} n'est pas un fichier ordinaire")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read()
    finally:
        os.close(fd)


def read_yaml_file(path: str, *, plain_dates: bool = False) -> Any:
    """Parse one YAML file; raise YamlFileError (never a raw traceback) when it is broken."""
    try:
        text = read_regular_file(path).decode("utf-8")
    except NotRegularFile as error:
        raise YamlFileError(f"{path} : {error} (tube, périphérique ou dossier) : retirez-le.") from error
    except OSError as error:
        raise YamlFileError(f"{path} : fichier illisible ({error.strerror}).") from error
    except UnicodeDecodeError as error:
        raise YamlFileError(f"{path} : le fichier n'est pas encodé en UTF-8.") from error
    return parse_yaml(text, path, plain_dates=plain_dates)


def parse_yaml(text: str, source: str, *, plain_dates: bool = False) -> Any:
    """Parse YAML text; `source` names it in error messages."""
    loader = PlainDateLoader if plain_dates else FastSafeLoader
    if plain_dates and SafeLoader is not yaml.SafeLoader:  # libyaml is there
        try:
            return yaml.load(text, Loader=FastPlainDateLoader)  # noqa: S506 - a safe loader
        except (yaml.YAMLError, ValueError):
            pass  # parsed again below, for the message
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - both loaders are safe loaders
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" (ligne {mark.line + 1}, colonne {mark.column + 1})" if mark else ""
        raise YamlFileError(f"{source}{where} : YAML invalide : {french_problem(error.problem)}.") from error
    except (yaml.YAMLError, ValueError) as error:
        raise YamlFileError(f"{source} : YAML invalide : {error}.") from error


def dump_yaml(data: Any) -> str:
    """Dump data as readable UTF-8 YAML: keys in their given order, block scalars kept."""
    return yaml.dump(
        data,
        Dumper=ReadableDumper,
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=False,
        width=100,
    )
