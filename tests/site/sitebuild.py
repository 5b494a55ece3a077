"""Build the site with the real `pelican` command, and serve a built folder on loopback."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PELICAN = os.path.join(os.path.dirname(sys.executable), "pelican")
OPEN_MOMENT = "2021-04-15T10:00:00"


@dataclass
class Build:
    output: str  # the built folder
    log: str  # stdout and stderr of the build, merged
    returncode: int

    def read(self, relative: str) -> str:
        with open(os.path.join(self.output, relative), encoding="utf-8") as handle:
            return handle.read()

    def pages(self) -> list[str]:
        """Every built HTML file, relative to the output folder, sorted."""
        found = []
        for folder, _dirs, files in os.walk(self.output):
            found += [os.path.relpath(os.path.join(folder, f), self.output) for f in files if f.endswith(".html")]
        return sorted(found)


def build_site(output: str, *, ami_now: str | None = OPEN_MOMENT, content: str | None = None,
               facts_path: str | None = None, settings: str = "pelicanconf.py") -> Build:
    """Run `pelican` like `make html` does; never raises on a failed build (see `.returncode`)."""
    env = {**os.environ, "COLUMNS": "400", "NO_COLOR": "1"}
    env.pop("COLLECTOR_FACTS_PATH", None)
    env["AMI_NOW"] = ami_now or ""
    if facts_path:
        env["COLLECTOR_FACTS_PATH"] = facts_path
    command = [PELICAN, content or os.path.join(REPO_ROOT, "content"), "-o", output, "-s", settings]
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    return Build(output, done.stdout + done.stderr, done.returncode)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextmanager
def static_server(folder: str) -> Iterator[str]:
    """Serve `folder` on 127.0.0.1 (a free port) until the block ends; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=folder)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
