"""The review commands run only as the data folder's owner: root would leave files the service cannot use."""

from __future__ import annotations

import os
import pwd

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="changing a folder's owner needs root")

ARGUMENTS = {"list": [], "show": ["AMI-2021-0001"], "export": ["--output", "-"], "stats": [],
             "status": ["AMI-2021-0001", "en_instruction"], "note": ["AMI-2021-0001", "texte"], "check": [],
             "purge": [], "create-user": ["bob", "--password-stdin"], "delete-user": ["bob"],
             "send-mail": [],
             "message": ["AMI-2021-0001", "texte"], "answers": [], "reindex": [], "mailer": [],
             "migrate-store": ["--from", "/var/lib/ailleurs"], "dump": ["/var/lib/copie"],
             "revoke-link": ["AMI-2021-0001"]}


@pytest.fixture
def foreign_data_dir(data_dir):
    """The data folder, owned by another user (as /var/lib/ami-usages-numeriques is by `ami`)."""
    nobody = pwd.getpwnam("nobody")
    os.chown(data_dir, nobody.pw_uid, nobody.pw_gid)
    yield data_dir
    os.chown(data_dir, 0, 0)


def test_the_walk_covers_every_command_the_collector_adds(app):
    assert set(app.cli.commands) == set(ARGUMENTS)


@pytest.mark.parametrize("name", sorted(ARGUMENTS))
def test_a_command_run_as_another_user_than_the_owner_is_refused_in_french(runner, foreign_data_dir, name):
    before = sorted(os.listdir(foreign_data_dir))
    result = runner.invoke(args=[name, *ARGUMENTS[name]], input="un mot de passe assez long\n")
    assert result.exit_code == 1, result.output
    assert "appartient à l'utilisateur « nobody »" in result.stderr
    assert "sudo -u nobody env COLLECTOR_DATA_DIR=" in result.stderr
    assert sorted(os.listdir(foreign_data_dir)) == before  # nothing written, nothing owned by root


def test_the_owner_runs_the_commands(runner, data_dir):
    assert os.stat(data_dir).st_uid == os.geteuid()
    result = runner.invoke(args=["list"])
    assert result.exit_code == 0, result.output
