"""The mailer, its own process: the web workers only store records; it composes, queues and sends.

Real gunicorn, real `flask --app collector mailer` processes, a real SMTP server on loopback.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from collector.mail.delivery import SENDING, SENT, MailSettings, pending
from collector.mail.mailer import LULL_SECONDS
from collector.stores.folder_poll import RECENT_SECONDS, FolderWatch
from tests.review.factory import write_records
from tests.review.mailer_process import RUNNING, WAITING, mailer, start_mailer
from tests.review.smtp import Inbox, smtp_server
from tests.review.test_mail_end_to_end import collector_env, submit, wait_until
from tests.support.net import free_port
from tests.support.servers import gunicorn, stop_process_group


def references_of(arrived) -> list[str]:
    return sorted(item.message["X-AMI-Reference"] for item in arrived)


def message_ids(arrived) -> list[str]:
    return [item.message["Message-ID"] for item in arrived]


def niceness(pid: int) -> int:
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[16])


def test_a_record_stored_while_the_mailer_is_down_is_mailed_once_when_it_starts(data_dir, tmp_path):
    with smtp_server() as inbox:
        env = collector_env(data_dir, inbox.port, retry="1")
        with gunicorn(env, workers=2, log_dir=str(tmp_path)) as server:
            reference = submit(server.base_url, "porteuse@example.org")
        assert os.path.exists(os.path.join(data_dir, "submissions", reference + ".yaml"))
        assert pending(data_dir) == [] and inbox.messages == [], "the web workers compose and send nothing"
        with mailer(env, str(tmp_path)) as running:
            arrived = inbox.wait_for(2, timeout=30)
            time.sleep(3)  # three catch-up rounds (retry every second): nothing may be sent again
            assert len(inbox.messages) == 2
            assert running.stop() == 0
    assert references_of(arrived) == [reference, reference]
    assert sorted(item.recipients[0] for item in arrived) == ["amenagement.numerique@normandie.fr",
                                                               "porteuse@example.org"]
    assert pending(data_dir) == [] and len(pending(data_dir, SENT)) == 2
    assert "porteuse@" not in running.log(), "logs must not hold personal data"


def test_two_mailers_running_at_once_never_send_the_same_message(data_dir, tmp_path, form):
    write_records(data_dir, 6, form)  # stored while no mailer ran: both find them when they start
    with smtp_server() as inbox:
        env = collector_env(data_dir, inbox.port, retry="1")
        first, second = start_mailer(env, str(tmp_path), "first"), start_mailer(env, str(tmp_path), "second")
        try:
            states = {first.wait_for_log(RUNNING, WAITING), second.wait_for_log(RUNNING, WAITING)}
            assert states == {RUNNING, WAITING}, "one mailer works, the other waits"
            with gunicorn(env, workers=2, log_dir=str(tmp_path)) as server:
                with ThreadPoolExecutor(4) as pool:
                    posted = list(pool.map(lambda n: submit(server.base_url, f"porteur{n}@example.org"), range(6)))
                arrived = inbox.wait_for(24, timeout=60)
                time.sleep(3)  # more rounds of both: nothing may be sent again
                assert len(inbox.messages) == 24
                assert len(set(message_ids(arrived))) == 24

                working, waiting = (first, second) if RUNNING in first.log() else (second, first)
                os.kill(working.process.pid, signal.SIGKILL)  # a crash: the lock is the kernel's to release
                waiting.wait_for_log(RUNNING)
                late = submit(server.base_url, "porteur-tardif@example.org")
                arrived = inbox.wait_for(26, timeout=30)
        finally:
            for running in (first, second):
                stop_process_group(running.process, signal.SIGTERM, timeout=30)
    assert len(set(message_ids(arrived))) == 26
    assert references_of(arrived) == sorted(2 * ([f"AMI-2021-{n:04d}" for n in range(1, 7)] + posted + [late]))


class SlowInbox(Inbox):
    """Takes half a second to accept each message, so that a stop can land in the middle of a round."""

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        await asyncio.sleep(0.5)
        return await super().handle_DATA(server, session, envelope)


def test_the_mailer_stops_cleanly_on_sigterm_finishing_the_message_in_progress(data_dir, tmp_path, form):
    from aiosmtpd.controller import Controller

    write_records(data_dir, 4, form)
    inbox = SlowInbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        running = start_mailer(collector_env(data_dir, port, retry="60"), str(tmp_path))
        try:
            inbox.wait_for(1, timeout=30)
            running.process.send_signal(signal.SIGTERM)  # in the middle of a round of eight messages
            status = running.process.wait(timeout=30)
        finally:
            stop_process_group(running.process, signal.SIGKILL, timeout=5)
    finally:
        controller.stop()
    assert status == 0, running.log()
    assert "mailer: stopped" in running.log() and "Traceback" not in running.log()
    assert pending(data_dir, SENDING) == [], "no claim is left behind"
    sent = pending(data_dir, SENT)
    assert len(sent) == len(inbox.messages) and len(sent) + len(pending(data_dir)) == 8
    assert len(set(message_ids(inbox.messages))) == len(inbox.messages)


def test_a_bursts_mails_go_out_within_seconds(data_dir, tmp_path):
    with smtp_server() as inbox:
        env = collector_env(data_dir, inbox.port, retry="600")  # no catch-up round helps: the poll does it
        with mailer(env, str(tmp_path)), gunicorn(env, workers=3, log_dir=str(tmp_path)) as server:
            with ThreadPoolExecutor(8) as pool:
                posted = list(pool.map(lambda n: submit(server.base_url, f"rafale{n}@example.org"), range(40)))
            arrived = inbox.wait_for(80, timeout=60)  # generous: "within seconds" on a loaded machine
    assert references_of(arrived) == sorted(posted * 2)
    assert len(set(message_ids(arrived))) == 80
    assert pending(data_dir) == []


def test_the_mailer_runs_at_a_lower_priority_than_the_requests(data_dir, tmp_path):
    with mailer(collector_env(data_dir, free_port(), retry="60"), str(tmp_path)) as running:
        assert niceness(running.process.pid) == min(19, os.nice(0) + 10)


def test_a_record_whose_folder_time_did_not_move_is_still_seen(tmp_path):
    """A record published in the same clock tick as the last listing leaves the folder's time unchanged."""
    folder = tmp_path / "submissions"
    folder.mkdir()
    watch = FolderWatch(str(folder))
    assert watch.changed()
    before = os.stat(folder)
    (folder / "AMI-2021-0001.yaml").write_text("x")
    os.utime(folder, ns=(before.st_atime_ns, before.st_mtime_ns))  # as if in the same tick
    assert watch.changed(), "a recently changed folder is listed again"
    old = time.time_ns() - int((RECENT_SECONDS + 5) * 1e9)
    os.utime(folder, ns=(old, old))
    assert watch.changed()  # a new time
    assert not watch.changed(), "an old, unchanged folder costs one stat and no listing"


def test_unusable_mail_settings_stop_the_mailer_with_a_french_message(runner, monkeypatch):
    monkeypatch.setenv("COLLECTOR_SMTP_PORT", "vingt-cinq")
    result = runner.invoke(args=["mailer"])
    assert result.exit_code == 1
    assert "COLLECTOR_SMTP_PORT='vingt-cinq' : nombre attendu." in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a folder's owner needs root")
def test_the_mailer_run_as_another_user_than_the_data_owner_is_refused_in_french(runner, data_dir):
    nobody = pwd.getpwnam("nobody")
    os.chown(data_dir, nobody.pw_uid, nobody.pw_gid)
    try:
        before = sorted(os.listdir(data_dir))
        result = runner.invoke(args=["mailer"])
        assert result.exit_code == 1
        assert "appartient à l'utilisateur « nobody »" in result.stderr
        assert sorted(os.listdir(data_dir)) == before
    finally:
        os.chown(data_dir, 0, 0)


def test_new_records_wait_for_a_lull_in_the_posts_before_their_mails_are_composed(app, data_dir, form):
    """Under a burst the disk serves the porteurs' posts first; the mails follow once it is still."""
    from collector.mail.mailer import Mailer

    write_records(data_dir, 1, form)
    mailer_ = Mailer(data_dir, app.config["FACTS"], form, MailSettings.from_env())
    mailer_.step()  # the first step catches up on what is there
    assert len(pending(data_dir)) == 2
    write_records(data_dir, 1, form, start=2)
    folder = os.path.join(data_dir, "submissions")
    soon = time.time_ns() + 60 * 10**9
    os.utime(folder, ns=(soon, soon))  # posts still arriving (a time that stays "just now" however slow this runs)
    mailer_.step()
    assert len(pending(data_dir)) == 2, "nothing composed while records keep coming"
    before = time.time_ns() - int((LULL_SECONDS + 1) * 1e9)
    os.utime(folder, ns=(before, before))  # then a lull
    mailer_.step()
    assert len(pending(data_dir)) == 4
