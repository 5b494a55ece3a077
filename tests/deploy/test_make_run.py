"""`make run` writes the data folder as production does (systemd's UMask=0027): nothing world-readable."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import urllib.request

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
