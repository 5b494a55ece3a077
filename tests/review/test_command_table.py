"""A command's table shows every cell on one line, hidden characters made visible, printable text as is."""

from __future__ import annotations

import pytest

from collector.commandline import table


@pytest.mark.parametrize("cell, seen", [
    ("Structure \u202eexe.pdf", "Structure [U+202E]exe.pdf"),  # a bidirectional override
    ("Zéro\u200blargeur", "Zéro[U+200B]largeur"),  # a zero-width space
    ("deux\nlignes\tet tab", "deux[U+000A]lignes[U+0009]et tab"),  # one line per cell
    ("échap\x1b[31m", "échap[U+001B][31m"),  # a terminal escape sequence
    ("fin \ufffe\U0010ffff", "fin [U+FFFE][U+10FFFF]"),  # noncharacters
    ("ligne\u2028suivante", "ligne[U+2028]suivante"),
])
def test_a_cell_with_hidden_characters_shows_each_of_them(cell, seen):
    assert table(["Structure"], [[cell]]).splitlines()[2] == seen


@pytest.mark.parametrize("cell", ["Association « Les Fabriques » — Caen", "Café numérique 🚀", "AMI-2021-0042"])
def test_a_printable_cell_is_shown_as_it_is(cell):
    assert table(["Structure"], [[cell]]).splitlines()[2] == cell


@pytest.mark.parametrize("text, seen", [
    ("AMI-2021-0001  Caf\u00e9\n\tsuite « numérique »", "AMI-2021-0001  Caf\u00e9\n\tsuite « numérique »"),
    ("ligne une\nligne \u202edeux", "ligne une\nligne [U+202E]deux"),
    ("retour\r\nchariot", "retour[U+000D]\nchariot"),
    ("\x1b[2J effacé", "[U+001B][2J effacé"),
])
def test_what_a_command_prints_keeps_its_lines_and_tabs_and_marks_hidden_characters(capsys, text, seen):
    from collector.commandline import echo

    echo(text)
    assert capsys.readouterr().out == seen + "\n"
