"""Fixtures for mail tests; import them into a test module to use them.

``smtp``: a real SMTP server (aiosmtpd) on a free loopback port, and Django's SMTP mailer
pointed at it. pytest-django switches MAILERS to the in-memory backend for the session; the
fixture overrides it again for the test.

``catalogue``: the offence catalogue and help offers that migration reports/0002 seeds.
Transactional tests (which these mail tests must be: the worker only sees committed jobs) end
with a flush of every table, which takes the seeded rows with it; this puts them back.
"""

import asyncio
import email
import socket
import threading
import time
from dataclasses import dataclass
from email import policy

import pytest
from aiosmtpd.controller import Controller
from django.db import transaction

from beistand.reports import catalogue as seed
from beistand.reports.models import HelpOffer, Offence


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    subject: str
    body: str
    message: email.message.EmailMessage


class _Handler:
    def __init__(self, sink):
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):
        if self.sink.delay:
            # A slow server: lets tests kill a worker while it is in the middle of a delivery.
            await asyncio.sleep(self.sink.delay)
        message = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=policy.default)
        part = message.get_body(preferencelist=("plain",))
        received = Received(mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos),
                            subject=str(message["subject"]),
                            body=part.get_content() if part else "", message=message)
        with self.sink.lock:
            self.sink.messages.append(received)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SMTPSink:
    def __init__(self):
        self.port = free_port()
        self.messages: list[Received] = []
        self.lock = threading.Lock()
        self.delay = 0.0
        self.controller = None

    def start(self):
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def running(self) -> bool:
        return self.controller is not None

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [m for m in self.messages if address in m.rcpt_tos]

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} mails, got {len(self.messages)}")

    def mailer_settings(self) -> dict:
        return {"default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": self.port, "timeout": 5},
        }}


@pytest.fixture
def smtp(settings):
    sink = SMTPSink()
    sink.start()
    settings.MAILERS = sink.mailer_settings()
    settings.DEFAULT_FROM_EMAIL = "beistand@teststadt.example"
    settings.ZKS_MAILBOX = "zks-postfach@teststadt.example"
    settings.BASE_URL = "https://beistand.teststadt.example"
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture
def catalogue(transactional_db):
    if not Offence.objects.exists():
        with transaction.atomic():
            for sort, (code, label, level, attack) in enumerate(seed.OFFENCES):
                Offence.objects.create(code=code, label=label, level=level, attack=attack,
                                       sort=sort)
            for sort, (code, label, unit_code, description) in enumerate(seed.HELP_OFFERS):
                HelpOffer.objects.create(code=code, label=label, unit_code=unit_code,
                                         description=description, sort=sort)
