"""The real mailer (`flask --app collector mailer`) as its own process, for the mail tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from tests.support.servers import REPO_ROOT, stop_process_group

RUNNING, WAITING = "mailer: running", "another mailer is running"
# With an SMTP server set, the mailer refuses to start without a sender of a real domain
# (mail.check_sender): the tests' and benches' mailers get this one unless told otherwise.
SENDER = {"COLLECTOR_MAIL_FROM": "AMI Usages numériques <ne-pas-repondre@normandie.example>"}


@dataclass
class MailerProcess:
    process: subprocess.Popen
    log_path: str

    def log(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def wait_for_log(self, *texts: str, timeout: float = 30.0) -> str:
        """Wait until the log holds one of `texts`; return the one found."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.log()
            for text in texts:
                if text in log:
                    return text
            if self.process.poll() is not None:
                raise AssertionError(f"the mailer ended ({self.process.returncode}):\n{log}")
            time.sleep(0.05)
        raise AssertionError(f"the mailer never logged {texts}:\n{self.log()}")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, as systemd sends it; the exit status."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


def start_mailer(env: Mapping[str, str], log_dir: str, name: str = "mailer", cwd: str = REPO_ROOT) -> MailerProcess:
    """A mailer process; `cwd` is the tree whose code it runs (another commit's, for a bench)."""
    log_path = os.path.join(log_dir, f"{name}.log")
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "collector", "mailer"], cwd=cwd,
                                   env={**SENDER, **os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    return MailerProcess(process, log_path)


@contextmanager
def mailer(env: Mapping[str, str], log_dir: str, name: str = "mailer", cwd: str = REPO_ROOT) -> Iterator[MailerProcess]:
    """A mailer for the block, started and polling (or waiting for the lock) when the block begins."""
    running = start_mailer(env, log_dir, name, cwd)
    try:
        running.wait_for_log(RUNNING, WAITING)
        yield running
    finally:
        stop_process_group(running.process, signal.SIGTERM, timeout=30)
