"""Outbox delivery through a real SMTP server: after commit, retried while SMTP is down,
failed for good after the attempt limit, re-queued when a worker died mid-send."""

import logging
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from beistand.notify import services as notify
from beistand.notify.models import OutgoingMail
from beistand.ops.worker import BeistandWorker
from tests.notify import fixtures

smtp = fixtures.smtp

pytestmark = pytest.mark.django_db(transaction=True)

CONTEXT = {"reference": "M-2026-00007", "hazard_level": 2, "step": "eingereicht",
           "due": "01.06.2026, 12:00 Uhr", "link": "https://x.example/meldungen/7/",
           "intro": "Test.", "todo": "Bitte prüfen."}


def _enqueue(to=("a@teststadt.example",), reason="test:1"):
    with transaction.atomic():
        return notify.enqueue_mail(list(to), "Meldung M-2026-00007: bitte prüfen",
                                   "report_to_act", CONTEXT, reason=reason)


def _worker():
    return BeistandWorker(interval=0.1, stale_after=2)


def test_enqueued_mail_is_delivered_by_the_worker(smtp):
    mail = _enqueue(to=["a@teststadt.example", "b@teststadt.example"])
    assert smtp.messages == []  # nothing is sent by the action itself
    _worker().run_once()
    [received] = smtp.wait_for(1)
    assert sorted(received.rcpt_tos) == ["a@teststadt.example", "b@teststadt.example"]
    assert received.subject == "Meldung M-2026-00007: bitte prüfen"
    assert "Gefährdungsstufe:  2" in received.body
    assert "https://x.example/meldungen/7/" in received.body
    mail.refresh_from_db()
    assert mail.status == OutgoingMail.State.SENT and mail.attempts == 1 and mail.sent_at
    assert mail.next_attempt_at is None


def test_rolled_back_action_leaves_no_mail(smtp):
    with pytest.raises(RuntimeError), transaction.atomic():
        notify.enqueue_mail(["a@teststadt.example"], "x", "report_to_act", CONTEXT,
                            reason="test:rollback")
        raise RuntimeError("the action failed")
    assert not OutgoingMail.objects.exists()
    _worker().run_once()
    assert smtp.messages == []


def test_mail_without_any_address_is_recorded_not_queued(smtp):
    with transaction.atomic():
        mail = notify.enqueue_mail([], "x", "report_to_act", CONTEXT, reason="test:none",
                                   missing=["Vorgesetzte/r Test Chefin: keine E-Mail-Adresse"])
    assert mail.status == OutgoingMail.State.SKIPPED
    assert mail.missing == ["Vorgesetzte/r Test Chefin: keine E-Mail-Adresse"]
    assert mail.next_attempt_at is None
    assert notify.MAIL.due() == []


def test_smtp_down_means_retry_later_not_loss(smtp, settings):
    settings.MAIL_RETRY_SECONDS = 1
    smtp.stop()
    mail = _enqueue()
    worker = _worker()
    worker.run_once()
    mail.refresh_from_db()
    assert mail.status == OutgoingMail.State.PENDING
    assert mail.attempts == 1
    assert "Connection" in mail.last_error or "refused" in mail.last_error.lower()
    assert mail.next_attempt_at > timezone.now()
    assert notify.MAIL.due() == []
    worker.run_once()  # not due yet: nothing happens
    mail.refresh_from_db()
    assert mail.attempts == 1

    smtp.start()
    time.sleep(max(0.0, (mail.next_attempt_at - timezone.now()).total_seconds()) + 0.05)
    worker.run_once()
    smtp.wait_for(1)
    mail.refresh_from_db()
    assert mail.status == OutgoingMail.State.SENT and mail.attempts == 2
    assert mail.last_error == ""


def test_after_the_attempt_limit_a_mail_fails_visibly(smtp, settings, caplog):
    settings.MAIL_MAX_ATTEMPTS = 2
    settings.MAIL_RETRY_SECONDS = 0
    smtp.stop()
    mail = _enqueue()
    worker = _worker()
    with caplog.at_level(logging.WARNING, logger="beistand.notify"):
        worker.run_once()  # attempt 1 fails, retry due at once
        worker.run_once()  # attempt 2 fails: that was the last
    mail.refresh_from_db()
    assert mail.status == OutgoingMail.State.FAILED and mail.attempts == 2
    assert list(notify.failed_mails()) == [mail]
    assert any("endgültig fehlgeschlagen" in r.getMessage() for r in caplog.records)

    # Once SMTP works again an administrator can give it a fresh round.
    smtp.start()
    notify.retry_failed(mail.pk)
    worker.run_once()
    smtp.wait_for(1)
    mail.refresh_from_db()
    assert mail.status == OutgoingMail.State.SENT


def test_a_mail_whose_worker_died_is_requeued(smtp):
    mail = _enqueue()
    # A worker claimed the mail and died (SIGKILL) before finishing: the mail stays "sending".
    assert notify.MAIL.claim(mail.pk, now=timezone.now() - timedelta(minutes=10))
    fresh = _enqueue(reason="test:fresh")
    assert notify.MAIL.claim(fresh.pk)  # another worker, sending right now
    assert notify.recover_stalled(timedelta(minutes=5)) == 1
    mail.refresh_from_db()
    assert mail.status == OutgoingMail.State.PENDING and mail.attempts == 1
    # A second sweep finds nothing more to do; a fresh claim is left alone.
    assert notify.recover_stalled(timedelta(minutes=5)) == 0
    assert OutgoingMail.objects.get(pk=fresh.pk).status == OutgoingMail.State.SENDING
    _worker().run_once()
    assert len(smtp.wait_for(1)) == 1
    mail.refresh_from_db()
    assert mail.status == OutgoingMail.State.SENT


def test_worker_command_once(smtp):
    _enqueue(reason="test:a")
    _enqueue(reason="test:b")
    call_command("worker", "--once")
    assert len(smtp.wait_for(2)) == 2
    assert set(OutgoingMail.objects.values_list("status", flat=True)) == {"sent"}


def test_deliver_twice_sends_once(smtp):
    """A duplicate job (e.g. re-queued while the first still ran) does not resend a sent mail."""
    mail = _enqueue()
    assert notify.deliver(mail.pk) == "sent"
    assert notify.deliver(mail.pk) == "nothing to do"
    assert len(smtp.wait_for(1)) == 1


def test_a_mail_that_kills_its_worker_every_time_still_fails_at_the_limit(smtp, settings):
    settings.MAIL_MAX_ATTEMPTS = 2
    mail = _enqueue()
    for _ in range(2):
        assert notify.MAIL.claim(mail.pk, now=timezone.now() - timedelta(minutes=10))
        notify.recover_stalled(timedelta(minutes=5))
    mail.refresh_from_db()
    assert mail.status == OutgoingMail.State.FAILED and mail.attempts == 2
    _worker().run_once()
    assert smtp.messages == []
