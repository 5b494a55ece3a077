"""A real SMTP server on loopback (aiosmtpd) that keeps every message it accepts."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

from aiosmtpd.controller import Controller


@dataclass
class Received:
    mail_from: str
    recipients: list[str]
    message: EmailMessage


class Inbox:
    """aiosmtpd handler: stores what arrives."""

    def __init__(self) -> None:
        self.messages: list[Received] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = message_from_bytes(envelope.original_content or envelope.content, policy=default_policy)
        with self._lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"{len(self.messages)} message(s) arrived, {count} expected")


def start_smtp(port: int) -> tuple[Controller, Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, enable_SMTPUTF8=True)
    controller.start()
    return controller, inbox


@contextmanager
def smtp_server() -> Iterator[Inbox]:
    """A server on a free loopback port for the block; its inbox knows the port (`inbox.port`)."""
    from tests.support.net import free_port

    port = free_port()
    controller, inbox = start_smtp(port)
    inbox.port = port  # type: ignore[attr-defined]
    try:
        yield inbox
    finally:
        controller.stop()
