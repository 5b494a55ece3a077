"""Real servers for integration tests: gunicorn running the collector."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from .net import free_port, wait_for_http

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclass
class RunningServer:
    base_url: str
    port: int
    process: subprocess.Popen
    log_path: str

    def log(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as handle:
            return handle.read()


@contextmanager
def gunicorn(env: Mapping[str, str], *, workers: int = 3, app: str = "collector:create_app()",
             log_dir: str, port: int | None = None, extra_args: tuple[str, ...] = ()) -> Iterator[RunningServer]:
    """Run `gunicorn app` on 127.0.0.1 with the given environment until the block ends."""
    port = port or free_port()
    log_path = os.path.join(log_dir, f"gunicorn-{port}.log")
    full_env = {**os.environ, **env}
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
               "--chdir", REPO_ROOT, "--no-control-socket", *extra_args, app]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, env=full_env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    server = RunningServer(f"http://127.0.0.1:{port}", port, process, log_path)
    try:
        wait_for_http(server.base_url + "/healthz")
        yield server
    except TimeoutError:
        raise RuntimeError("gunicorn did not start:\n" + server.log()) from None
    finally:
        stop_process_group(process, signal.SIGTERM, timeout=15)


def stop_process_group(process: subprocess.Popen, polite: signal.Signals, timeout: float) -> None:
    """Send `polite` to the process's group, then SIGKILL if it is still there after `timeout` s."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, polite)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
