"""The commands' layout: one module per role, registered in one place, no role reaching into another.

The mail package's modules never import the review package; the reviewers' commands never import the
mail modules (what both need is in the domain: commandline.py, readable.py, appstate.py);
every command a reviewer or an operator types is registered on `flask --app collector`.
"""

from __future__ import annotations

import ast
import os

import pytest

COLLECTOR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "collector")
MAIL_MODULES = sorted(os.path.join("mail", name) for name in os.listdir(os.path.join(COLLECTOR, "mail"))
                      if name.endswith(".py"))
MAIL_PACKAGE = "collector.mail"


def imported_modules(relative_path: str) -> set[str]:
    """Every module a file imports (relative imports made absolute), wherever the import is."""
    path = os.path.join(COLLECTOR, relative_path)
    package = ["collector", *os.path.dirname(relative_path).split(os.sep)] if os.path.dirname(relative_path) \
        else ["collector"]
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), path)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("module", MAIL_MODULES)
def test_the_mail_modules_never_import_the_review_package(module):
    reached = {name for name in imported_modules(module) if name.startswith("collector.review")}
    assert not reached, f"{module} importe {sorted(reached)}"


def test_the_reviewers_commands_never_import_the_mail_modules():
    reached = {name for name in imported_modules(os.path.join("review", "commands.py"))
               if name == MAIL_PACKAGE or name.startswith(MAIL_PACKAGE + ".")}
    assert not reached, f"review/commands.py importe {sorted(reached)}"


def test_cli_only_registers_the_commands_of_each_role():
    with open(os.path.join(COLLECTOR, "cli.py"), encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    assert not [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name != "init_app"]
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.Call)
                and getattr(node.func, "attr", "") in {"command", "option", "argument"}]


def test_every_command_is_registered(app):
    expected = {"list", "show", "export", "stats", "status", "note", "check", "create-user", "reindex", "message",
                "answers", "purge", "send-mail", "mailer"}
    assert expected <= set(app.cli.commands)
