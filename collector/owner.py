"""The review and mail commands run as the data folder's owner, never as anyone else.

Run as root, a command would leave root-owned files (accounts/, sending/, sent/…) that the
service, running as its own user, could then neither read nor move.
"""

from __future__ import annotations

import functools
import os
import pwd
import shlex
import sys
from collections.abc import Callable
from typing import Any

import click
from flask import current_app


def check_data_owner(data_dir: str) -> None:
    """Refuse (French, naming the right command) to run as another user than the data folder's owner."""
    try:
        owner = os.stat(data_dir).st_uid
    except FileNotFoundError:
        return  # nothing there yet: what this command creates belongs to whoever runs it
    if os.geteuid() == owner:
        return
    try:
        owner_name = pwd.getpwuid(owner).pw_name
    except KeyError:
        owner_name = f"#{owner}"
    command = shlex.join(["env", f"COLLECTOR_DATA_DIR={data_dir}", *sys.argv])
    raise click.ClickException(
        f"Le dossier de données {data_dir} appartient à l'utilisateur « {owner_name} » : lancez les commandes "
        f"sous cet utilisateur, sinon le service ne pourrait plus lire ni déplacer les fichiers créés. "
        f"Par exemple : sudo -u {owner_name} {command}")


def as_data_owner(function: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator (below @with_appcontext): run the command only as the data folder's owner."""
    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        check_data_owner(str(current_app.config["DATA_DIR"]))
        return function(*args, **kwargs)
    return guarded
