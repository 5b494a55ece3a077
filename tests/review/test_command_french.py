"""Click's own messages (usage, errors, help) are French on the reviewers' command line, whatever
the terminal's language: a real `flask --app collector …` process (collector/cli_french.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from collector import cli_french

FLASK = os.path.join(os.path.dirname(sys.executable), "flask")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENGLISH = ("Usage:", "Error:", "Try '", "for help", "No such", "Missing", "Invalid value", "is not",
           "Show this message")
QUOTED_THE_ENGLISH_WAY = re.compile(r"'[^'\s]+'")  # '--status', 'recu': Click's quotes, not French ones


def flask(arguments: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """The command as a reviewer types it, in an English terminal."""
    english = {**os.environ, **env, "LANG": "en_US.UTF-8", "LANGUAGE": "en", "LC_ALL": "C.UTF-8"}
    return subprocess.run([FLASK, "--app", "collector", *arguments], cwd=REPO, env=english,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("arguments, expected", [
    (["list", "--bogus"], "Erreur : L'option « --bogus » n'existe pas."),
    (["show"], "Erreur : Il manque l'argument « REFERENCE »."),
    (["list", "--status", "perdu"], "Erreur : Valeur invalide pour « --status » : « perdu » n'est pas possible : "
                                    "choisissez parmi « recu », "),
    (["export", "--format", "pdf"], "Erreur : Valeur invalide pour « --format » : « pdf » n'est pas possible : "
                                    "choisissez parmi « csv », « xlsx », « ods »."),
    (["reindex", "--processes", "deux"], "Erreur : Valeur invalide pour « --processes » : « deux » n'est pas un "
                                         "nombre valide."),
    (["reindex", "--processes", "0"], "Erreur : Valeur invalide pour « --processes » : 0 est hors des limites"),
    (["lsit"], "Erreur : La commande « lsit » n'existe pas."),
    (["show", "AMI-2021-0001", "AMI-2021-0002"], "Erreur : Argument en trop : AMI-2021-0002"),
    (["export", "--output", REPO], f"Erreur : Valeur invalide pour « --output » / « -o » : « {REPO} » est un "
                                   "répertoire : donnez un fichier."),
    (["purge", "--today", "demain"], "Erreur : Valeur invalide pour « --today » : « demain » n'a pas le format "
                                     "attendu"),
])
def test_a_usage_error_is_told_in_french_with_the_usage_and_where_to_find_help(review_env, store_env, arguments,
                                                                              expected):
    result = flask(arguments, {**review_env, **store_env})
    assert result.returncode == 2
    assert expected in result.stderr, result.stderr
    assert "Utilisation : flask " in result.stderr
    assert "Pour l'aide : « flask " in result.stderr and "--help »." in result.stderr
    assert not [word for word in ENGLISH if word in result.stderr], result.stderr
    assert not QUOTED_THE_ENGLISH_WAY.findall(result.stderr.split("Erreur : ")[1]), result.stderr


def test_a_command_help_has_french_headings_and_help_option(review_env, store_env):
    result = flask(["export", "--help"], {**review_env, **store_env})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Utilisation : flask export [OPTIONS]")
    assert "Options :" in result.stdout
    assert "Affiche cette aide, puis s'arrête." in result.stdout
    assert "par défaut : csv" in result.stdout
    assert not [word for word in ENGLISH if word in result.stdout], result.stdout


def test_the_compiled_catalogue_is_its_source_compiled():
    """collector-cli.mo is what `pybabel compile` makes of collector-cli.po (edit the .po, then compile)."""
    folder = os.path.join(cli_french.LOCALE_DIR, "fr", "LC_MESSAGES")
    with open(os.path.join(folder, f"{cli_french.DOMAIN}.po"), encoding="utf-8") as handle:
        source = messages(read_po(handle))
    with open(os.path.join(folder, f"{cli_french.DOMAIN}.mo"), "rb") as handle:
        compiled = messages(read_mo(handle))
    assert compiled == source and len(source) >= 40


def messages(catalogue) -> dict:
    """msgid (a pair for a plural) -> its translation(s)."""
    as_key = lambda text: tuple(text) if isinstance(text, (list, tuple)) else text  # noqa: E731
    return {as_key(message.id): as_key(message.string) for message in catalogue if message.id}


def test_every_command_is_described_in_french_in_the_list_and_in_its_own_help(review_env, store_env):
    """The command list and each command's help give its French description (the English docstrings are the
    code's); a command added without one fails here."""
    from collector import retention
    from collector.mail import commands as mail_commands
    from collector.review import commands as review_commands

    ours = {command.name for command in review_commands.COMMANDS + retention.COMMANDS + mail_commands.COMMANDS}
    assert ours | {"db-upgrade", "routes", "run", "shell"} <= set(cli_french.DESCRIPTIONS), \
        sorted(ours - set(cli_french.DESCRIPTIONS))
    listed = flask(["--help"], {**review_env, **store_env})
    assert listed.returncode == 0, listed.stderr
    commands = listed.stdout[listed.stdout.index("Commandes :"):]
    for line in ("list           Liste les candidatures", "export         Exporte les candidatures",
                 "db-upgrade     Met le schéma PostgreSQL", "run            Lance un serveur de développement"):
        assert line in commands, commands
    assert not [word for word in ("List the", "Export the", "Show the", "Run a", "Change a") if word in commands]
    shown = flask(["show", "--help"], {**review_env, **store_env})
    assert "Affiche un dossier en entier" in shown.stdout and "Show one submission" not in shown.stdout
