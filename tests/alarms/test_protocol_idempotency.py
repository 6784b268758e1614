"""``client_id`` deduplicates retries of one press within ``ALARM_CLIENT_ID_WINDOW_SECONDS``,
never later and never after that alarm's all-clear: a fixed trigger URL (desk phone) with a
``client_id`` raises an alarm for every press. ``pressed_at`` is stored and shown.

Time is not waited for: an alarm is moved out of the window by moving its ``triggered_at`` back.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from beistand.accounts.roles import Role
from beistand.accounts.services import create_device_token
from beistand.alarms import services
from beistand.alarms.models import Alarm, DeviceTrigger
from beistand.core.errors import InvalidInput
from tests.alarms.helpers import call, post

pytestmark = pytest.mark.django_db(transaction=True)


def age(alarm_id, seconds):
    """Pretend the alarm was raised ``seconds`` ago."""
    Alarm.objects.filter(pk=alarm_id).update(
        triggered_at=timezone.now() - timedelta(seconds=seconds))


def test_a_retry_within_the_window_is_the_same_alarm_later_a_new_one(people, fast_plan,
                                                                      settings):
    settings.ALARM_CLIENT_ID_WINDOW_SECONDS = 120
    sender = people["sender"]
    first = services.trigger(user=sender, template="beistand", client_id="press-1")
    assert first.created and not first.deduplicated
    again = services.trigger(user=sender, template="beistand", client_id="press-1")
    assert again.alarm.pk == first.alarm.pk and not again.created and again.deduplicated

    age(first.alarm.pk, 119)
    assert services.trigger(user=sender, template="beistand",
                            client_id="press-1").alarm.pk == first.alarm.pk
    age(first.alarm.pk, 121)  # outside the window: the same client_id is a new press
    later = services.trigger(user=sender, template="beistand", client_id="press-1")
    assert later.created and later.alarm.pk != first.alarm.pk
    # ... and now the retries of that new press find it, not the first.
    retry = services.trigger(user=sender, template="beistand", client_id="press-1")
    assert retry.alarm.pk == later.alarm.pk and retry.deduplicated
    assert Alarm.objects.filter(sender_user=sender, client_id="press-1").count() == 2
    # Another sender's equal client_id is their own press.
    other = services.trigger(user=people["far"], template="beistand", client_id="press-1")
    assert other.created


def test_after_the_all_clear_the_same_client_id_raises_a_new_alarm(people, fast_plan):
    sender = people["sender"]
    first = services.trigger(user=sender, template="beistand", client_id="fixed")
    services.resolve(sender, first.alarm.pk, "")
    second = services.trigger(user=sender, template="beistand", client_id="fixed")
    assert second.created and second.alarm.pk != first.alarm.pk
    # A cancelled countdown stays cancelled for a late retry of its press.
    counted = services.trigger(user=sender, template="beistand", client_id="cd",
                               countdown_s=10)
    services.cancel(sender, counted.alarm.pk)
    retry = services.trigger(user=sender, template="beistand", client_id="cd", countdown_s=10)
    assert retry.alarm.pk == counted.alarm.pk and retry.alarm.state == "cancelled"


def test_a_real_alarm_is_never_swallowed_by_a_running_probealarm_with_its_client_id(
        people, fast_plan):
    """Review finding: a desk phone that reused its client_id after a self-test got the
    running Probealarm back for a real press (200 deduplicated) - no alarm was raised."""
    sender = people["sender"]
    probe = services.trigger(user=sender, template="probealarm", client_id="desk-1")
    assert probe.created
    real = services.trigger(user=sender, template="beistand", client_id="desk-1")
    assert real.created and not real.deduplicated and real.alarm.pk != probe.alarm.pk
    assert real.alarm.template.code == "beistand"
    # Retries of the real press find the real alarm; a Probealarm press finds it too (the
    # harmless direction: a self-test never replaces a real alarm).
    assert services.trigger(user=sender, template="beistand",
                            client_id="desk-1").alarm.pk == real.alarm.pk
    assert services.trigger(user=sender, template="probealarm",
                            client_id="desk-1").alarm.pk == real.alarm.pk


def test_a_fixed_trigger_url_with_client_id_works_for_every_press(server, people, fast_plan,
                                                                   make_user, org, settings):
    """A desk phone's function key calls the same URL, with the same client_id, every time."""
    settings.ALARM_CLIENT_ID_WINDOW_SECONDS = 60
    admin = make_user("admin", roles=[Role.ADMIN])
    clear, device = create_device_token(admin, "Telefon 1.02", "desk_phone",
                                        room=org["rooms"][1])
    url = f"/api/v1/trigger/{clear}?client_id=taste-1"
    first = post(server, url)
    assert first.status_code == 201, first.text
    retry = post(server, url)  # the phone retries the same press
    assert retry.status_code == 200 and retry.json()["id"] == first.json()["id"]
    assert retry.json()["deduplicated"] is True

    services.resolve(people["security"], first.json()["id"], "")
    second = call(server, "GET", url)  # the next press after the all-clear
    assert second.status_code == 201, second.text
    assert second.json()["id"] != first.json()["id"]

    # A press a while later, with the alarm still open: outside the client_id window and the
    # device's interval, a new alarm.
    age(second.json()["id"], 61)
    DeviceTrigger.objects.filter(device=device).update(
        at=timezone.now() - timedelta(seconds=61))
    third = post(server, url)
    assert third.status_code == 201, third.text
    assert len({first.json()["id"], second.json()["id"], third.json()["id"]}) == 3


def test_the_same_client_id_over_the_fast_path(server, people, fast_plan, token):
    tok = token(people["sender"])
    body = {"template": "beistand", "client_id": "app-7"}
    first = post(server, "/api/v1/alarms", tok, body)
    assert first.status_code == 201, first.text
    again = post(server, "/api/v1/alarms", tok, body)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert again.json()["deduplicated"] is True
    age(first.json()["id"], 301)  # the default window is 300 s
    later = post(server, "/api/v1/alarms", tok, body)
    assert later.status_code == 201 and later.json()["id"] != first.json()["id"]


def test_pressed_at_is_stored_and_shown(server, people, fast_plan, token):
    tok = token(people["sender"])
    pressed = (datetime.now(UTC) - timedelta(seconds=40)).replace(microsecond=0)
    resp = post(server, "/api/v1/alarms", tok,
                {"template": "beistand", "pressed_at": pressed.isoformat()})
    assert resp.status_code == 201, resp.text
    assert datetime.fromisoformat(resp.json()["pressed_at"]) == pressed
    alarm = Alarm.objects.get(pk=resp.json()["id"])
    assert alarm.pressed_at == pressed and alarm.triggered_at > pressed
    for bad in ((datetime.now(UTC) + timedelta(hours=1)).isoformat(),
                (datetime.now(UTC) - timedelta(days=2)).isoformat(), "2026-12-01T10:00:00"):
        resp = post(server, "/api/v1/alarms", tok, {"template": "beistand", "pressed_at": bad})
        assert resp.status_code == 400, (bad, resp.text)
        assert resp.json()["type"].endswith("invalid-input")


def test_a_naive_pressed_at_is_refused_in_the_service(people, alarm_defaults):
    with pytest.raises(InvalidInput):
        services.trigger(user=people["sender"], template="beistand",
                         pressed_at=datetime(2026, 12, 1, 10, 0))
