"""YAML reading and writing shared by the facts, the form definition and the records.

Uses libyaml's C loader and dumper when present (about 20 times faster than the pure
Python ones) and the safe subset only: no tag can build a Python object.
"""

from __future__ import annotations

from typing import Any

import yaml

SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SafeDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


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
    loader = PlainDateLoader if plain_dates else SafeLoader
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - both loaders are safe loaders
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" (ligne {mark.line + 1}, colonne {mark.column + 1})" if mark else ""
        raise YamlFileError(f"{source}{where} : YAML invalide : {error.problem}.") from error
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
