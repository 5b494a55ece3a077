"""What every `flask --app collector` command shares: printing safely, tables, warnings, who acts.

Everything printed goes through `display.shown`: a control character, a bidi override or a
zero-width character from a file edited by hand is printed as `[U+001B]`, never raw. No
role package is imported here, so the review, mail and retention commands all use it.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterable
from gettext import ngettext  # Click's own messages' catalogue (cli_french.py)

import click

from .display import shown


def echo(text: str = "", err: bool = False) -> None:
    """Print a line, its hidden characters made visible (a terminal never gets them raw)."""
    click.echo(_visible(text), err=err)


def _visible(text: str) -> str:
    """`shown(text)`, without a pattern search over a long text whose lines are all printable (see `_cell`;
    tabs and line feeds are kept)."""
    return text if all(line.isprintable() for line in text.replace("\t", " ").split("\n")) else shown(text)


def warn_files(lines: list[str]) -> None:
    """Name on stderr every file a reviewer must look at by hand, then how many."""
    for line in lines:
        echo(f"Attention : {line}", err=True)
    if lines:
        echo(f"Attention : {len(lines)} fichier(s) à vérifier à la main "
             "(lancez « check » pour le détail).", err=True)


def _cell(text: str) -> str:
    """A table cell on one line. A printable text (`str.isprintable`: no control, format, separator
    but the space, unassigned or surrogate character) holds none of what `shown` marks: it is kept
    as is, without a pattern search (a `list` of thousands of rows has tens of thousands of cells)."""
    return text if text.isprintable() else shown(text, multiline=False)


def table(headers: list[str], rows: Iterable[list[str]]) -> str:
    """Aligned columns under their headers, each cell on one line."""
    rows = [[_cell(str(cell)) for cell in row] for row in rows]
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(row) for row in rows])


def who(by: str | None) -> str:
    """Who acts: --by, else COLLECTOR_REVIEWER, else the system user."""
    return by or os.environ.get("COLLECTOR_REVIEWER") or getpass.getuser()


class FrenchChoice(click.Choice):
    """A choice whose refusal lists the choices between French quotes, as every other message of
    the commands (Click's own puts them between ', its repr; the option's name: cli_french.py):
    Valeur invalide pour « --format » : « pdf » n'est pas possible : choisissez parmi « csv »,
    « xlsx », « ods »."""

    def get_invalid_choice_message(self, value: object, ctx: click.Context | None) -> str:
        choices = ", ".join(f"« {choice} »" for choice in self.choices)
        return ngettext("{value!r} is not {choice}.", "{value!r} is not one of {choices}.",
                        len(self.choices)).format(value=value, choice=choices, choices=choices)


class IsoDate(click.DateTime):
    """A date written AAAA-MM-JJ, refused in French with an example (Click's own message names its
    strptime format between ', '%Y-%m-%d', which tells a reviewer little)."""

    def __init__(self) -> None:
        super().__init__(["%Y-%m-%d"])

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> object:
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            self.fail(f"« {value} » n'a pas le format attendu : AAAA-MM-JJ, par exemple 2021-07-15.", param, ctx)
