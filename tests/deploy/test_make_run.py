"""`make run`: the data folder written as production does (systemd's UMask=0027), the mailer beside gunicorn."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import urllib.request

import pytest

from tests.support.net import free_port, wait_for_http
from tests.support.servers import REPO_ROOT, stop_process_group


def mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_make_run_keeps_the_data_folder_and_its_databases_private(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)  # left open by an earlier version of `make run`
    port = free_port()
    env = {**os.environ, "COLLECTOR_DATA_DIR": str(data_dir), "PORT": str(port)}
    process = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=REPO_ROOT, env=env,
                               start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout=180)
        # a robot's post (the honeypot filled): discarded, and counted by the rate limit, which
        # counts only posts stored or discarded
        request = urllib.request.Request(f"http://127.0.0.1:{port}/candidater/", data=b"site_web=robot",
                                         method="POST", headers={"Origin": f"http://127.0.0.1:{port}"})
        try:
            urllib.request.urlopen(request, timeout=30)
        except urllib.error.HTTPError:
            pass
    finally:
        stop_process_group(process, signal.SIGTERM, timeout=20)
    assert mode(data_dir) == 0o750
    database = data_dir / "state" / "ratelimit.sqlite3"
    assert database.exists()
    assert mode(database) == 0o640 and mode(data_dir / "state") == 0o750
    assert mode(data_dir / "secret_key") & 0o077 == 0
    for folder, folders, files in os.walk(data_dir):
        for name in folders + files:
            assert mode(os.path.join(folder, name)) & 0o007 == 0, name


def test_make_run_starts_the_mailer_beside_gunicorn_and_ctrl_c_stops_both(tmp_path):
    from tests.review.smtp import smtp_server
    from tests.review.test_mail_end_to_end import submit

    port = free_port()
    with smtp_server() as inbox:
        env = {**os.environ, "COLLECTOR_DATA_DIR": str(tmp_path / "data"), "PORT": str(port),
               "COLLECTOR_SMTP_HOST": "127.0.0.1", "COLLECTOR_SMTP_PORT": str(inbox.port),
               "COLLECTOR_MIN_FILL_SECONDS": "0"}
        process = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=REPO_ROOT, env=env,
                                   start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout=180)
            reference = submit(f"http://127.0.0.1:{port}", "porteur@example.org")
            arrived = inbox.wait_for(2, timeout=60)
            os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's foreground group
            process.wait(timeout=60)
        finally:
            stop_process_group(process, signal.SIGKILL, timeout=5)
    assert sorted(item.message["X-AMI-Reference"] for item in arrived) == [reference, reference]
    with pytest.raises(ProcessLookupError):
        os.killpg(process.pid, 0)  # nothing of the group is left: gunicorn, its workers and the mailer all ended
