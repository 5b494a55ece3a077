"""A reviewer's command starts without the service's chores; the service still does them.

`flask --app collector <command>` builds the app to find its command: it leaves the sweep
of interrupted writes (tmp/, ids/ links to a record never written) to the service, whose
start reads every ids/ link (one per submission). gunicorn's workers, which call the same
factory, sweep as before.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from collector.idempotency import IDS_DIR

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def leftovers(data_dir: str) -> tuple[str, str]:
    """An interrupted write and an ids/ link to a record never written, both two hours old."""
    os.makedirs(os.path.join(data_dir, "tmp"), exist_ok=True)
    os.makedirs(os.path.join(data_dir, IDS_DIR), exist_ok=True)
    unfinished = os.path.join(data_dir, "tmp", "AMI-2021-0099.yaml.1.abcdef")
    with open(unfinished, "wb") as handle:
        handle.write(b"reference: AMI-2021-0099\n")
    link = os.path.join(data_dir, IDS_DIR, "0" * 32)
    os.symlink("AMI-2021-0099", link)
    old = time.time() - 7200
    os.utime(unfinished, (old, old))
    os.utime(link, (old, old), follow_symlinks=False)
    return unfinished, link


def test_a_reviewers_command_leaves_the_sweep_to_the_service(review_env, data_dir):
    unfinished, link = leftovers(data_dir)
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "collector", "list"], cwd=REPO_ROOT,
                            env={**os.environ, **review_env}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "0 candidature(s) sur 0." in result.stdout
    assert os.path.exists(unfinished) and os.path.lexists(link)


def test_the_service_sweeps_what_interrupted_writes_left(review_env, data_dir):
    from collector import create_app

    unfinished, link = leftovers(data_dir)
    create_app()
    assert not os.path.exists(unfinished) and not os.path.lexists(link)


def test_the_plugin_commands_every_flask_command_loads_leave_psycopg_to_the_database_commands():
    """`db-upgrade` is a plugin command, loaded by every `flask` command: a reviewer's command on
    the data folder does not pay for the PostgreSQL driver."""
    probe = ("import importlib.metadata as m, sys\n"
             "names = [ep.load().name for ep in m.entry_points(group='flask.commands') if ep.value.startswith('collector')]\n"
             "print(names, 'psycopg' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "['db-upgrade'] False"
