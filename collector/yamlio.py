"""YAML reading and writing shared by the facts, the form definition and the records.

Uses libyaml's C loader and dumper when present (about 20 times faster than the pure
Python ones) and the safe subset only: no tag can build a Python object.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import yaml
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


class _RecursiveNode(Exception):
    """A collection that contains itself (through an alias): left to the library's constructor."""


class FastSafeLoader(SafeLoader):  # type: ignore[misc, valid-type]
    """The safe loader, quicker on what records and histories are made of.

    Texts, lists and text-keyed mappings are built straight from the parsed nodes; every
    other node (numbers, booleans, dates, merge keys, other tags) goes through the
    library's own SafeConstructor, and so does a document whose collections contain
    themselves. Scalars are resolved through `implicit_tag` (cached).
    """

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            return implicit_tag(value, implicit)
        return super().resolve(kind, value, implicit)

    def construct_document(self, node: Node) -> Any:
        try:
            data = self._build(node, set())
            while self.state_generators:  # as BaseConstructor.construct_document does
                generators, self.state_generators = self.state_generators, []
                for generator in generators:
                    for _ in generator:
                        pass
            return data
        except _RecursiveNode:
            self.state_generators = []
            return super().construct_document(node)
        finally:
            self.constructed_objects, self.recursive_objects, self.deep_construct = {}, {}, False

    def _build(self, node: Node, path: set[int]) -> Any:
        tag, kind = node.tag, type(node)
        if kind is ScalarNode and tag == STR_TAG:
            return node.value
        if (kind is MappingNode and tag == MAP_TAG) or (kind is SequenceNode and tag == SEQ_TAG):
            if id(node) in path:
                raise _RecursiveNode
            path.add(id(node))
            try:
                if kind is SequenceNode:
                    return [self._build(item, path) for item in node.value]
                if all(type(key) is ScalarNode and key.tag == STR_TAG for key, _ in node.value):
                    return {key.value: self._build(value, path) for key, value in node.value}
            finally:
                path.discard(id(node))
        return self.construct_object(node, deep=True)


class ReadableDumper(SafeDumper):  # type: ignore[misc, valid-type]
    """The safe dumper, writing multi-line texts as literal block scalars (`|`)."""


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


class YamlFileError(ValueError):
    """A YAML file that cannot be read, with a message that names the file and the place."""


def read_yaml_file(path: str, *, plain_dates: bool = False) -> Any:
    """Parse one YAML file; raise YamlFileError (never a raw traceback) when it is broken."""
    try:
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8")
    except OSError as error:
        raise YamlFileError(f"{path} : fichier illisible ({error.strerror}).") from error
    except UnicodeDecodeError as error:
        raise YamlFileError(f"{path} : le fichier n'est pas encodé en UTF-8.") from error
    return parse_yaml(text, path, plain_dates=plain_dates)


def parse_yaml(text: str, source: str, *, plain_dates: bool = False) -> Any:
    """Parse YAML text; `source` names it in error messages."""
    loader = PlainDateLoader if plain_dates else FastSafeLoader
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
