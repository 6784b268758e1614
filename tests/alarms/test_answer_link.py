"""Issue 19 item 6: the one-time answer link in an alarm SMS. Against the real server and a real
local HTTP SMS gateway: every receiver's SMS carries its own link; opening it (as a messenger's
link preview does) changes nothing; "Ich komme" on the page counts exactly like the app (the
sender's "Hilfe kommt", the escalation stopped, timeline and audit); a second visit shows and
changes the answer; wrong, expired and ended links look the same and are rate-limited."""

import asyncio
import hashlib
import re
from datetime import timedelta

import httpx
import pytest
from django.db import transaction
from django.utils import timezone

from beistand.alarms import answer_links, services, sms
from beistand.alarms.models import Alarm, AlarmRecipient, AnswerLink, SmsMessage
from beistand.audit.models import AuditEvent
from tests.alarms.conftest import Receiver
from tests.alarms.helpers import post, wait_for
from tests.alarms.test_sms import gateway, set_tiers  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)

LINK = re.compile(r"(https?://\S+/a/([A-Za-z0-9_-]{22}))$")


@pytest.fixture
def linked(gateway, server, people, settings):  # noqa: F811
    """far (offline, mobile 0171 2222222) is tier 1 with SMS; the neighbour tier 2."""
    settings.BASE_URL = server.http
    settings.CSRF_COOKIE_SECURE = False  # plain HTTP on loopback: the cookie must travel
    set_tiers({"kind": "people", "people": [people["far"]], "sms_when_offline": True},
              {"kind": "people", "people": [people["neighbour"]]})
    return people


def _sms_link(peer, alarm_id):
    """(SMS text, link, token) of the alarm SMS the gateway got."""
    body = wait_for(lambda: next((b for b in peer.json_bodies()
                                  if f"Nr. {alarm_id} " in b["text"]), None),
                    what="alarm SMS at the gateway")
    match = LINK.search(body["text"])
    assert match, body["text"]
    return body["text"], match[1], match[2]


def _form_token(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)[1]


def test_the_sms_link_answers_like_the_app(linked, server, token, gateway):  # noqa: F811
    t_sender = token(linked["sender"])

    def far_answer(alarm_id):
        return AlarmRecipient.objects.get(alarm_id=alarm_id, inbox__user=linked["far"]).response

    def open_and_press(alarm_id, phone):
        text, url, raw = _sms_link(gateway, alarm_id)
        # A messenger's link preview: GET (and HEAD) without cookies changes nothing.
        preview = httpx.get(url, timeout=10)
        assert preview.status_code == 200
        assert httpx.head(url, timeout=10).status_code == 200
        assert far_answer(alarm_id) == ""
        page = preview.text
        assert f"Alarm Nr. {alarm_id}" in page and "Beistand" in page
        assert "Raum 1.01" in page and "Ich komme" in page and "Kann nicht" in page
        # Nothing more than the SMS shows, and less: no sender name or phone on the page.
        assert "Erika Sender" not in page and "1111111" not in page
        assert preview.headers["Referrer-Policy"] == "same-origin"
        assert "no-store" in preview.headers["Cache-Control"]
        # A POST without the page's CSRF token (a cross-site form) answers nothing.
        forged = httpx.post(url, data={"antwort": "coming"}, timeout=10)
        assert forged.status_code == 403
        assert far_answer(alarm_id) == ""
        # The phone: open the page, press "Ich komme".
        opened = phone.get(url)
        pressed = phone.post(url, data={"antwort": "coming",
                                        "csrfmiddlewaretoken": _form_token(opened.text)},
                             headers={"Referer": url})
        assert pressed.status_code == 302
        assert pressed.headers["Location"].endswith(f"/a/{raw}")
        return text, url, raw

    def second_use(url, phone):
        # The answer given, and it can be changed as in the app.
        again = phone.get(url)
        assert "Ihre Antwort: Ich komme" in again.text
        changed = phone.post(url, data={"antwort": "cannot",
                                        "csrfmiddlewaretoken": _form_token(again.text)},
                             headers={"Referer": url})
        assert changed.status_code == 302
        assert "Ihre Antwort: Kann nicht" in phone.get(url).text
        # The link forwarded to another device (issue 16, re-attack): it shows the answer but
        # offers no buttons, and a POST with a valid CSRF token of the site changes nothing.
        with httpx.Client(timeout=10) as other:
            seen = other.get(url).text
            assert "Ihre Antwort: Kann nicht" in seen and 'name="antwort"' not in seen
            login = other.get(url.split("/a/")[0] + "/konto/anmelden/").text
            forged = other.post(url, data={"antwort": "coming",
                                           "csrfmiddlewaretoken": _form_token(login)},
                                headers={"Referer": url})
            assert forged.status_code == 400
            assert "bereits geantwortet" in forged.text
        assert "Ihre Antwort: Kann nicht" in phone.get(url).text

    async def scenario():
        async with Receiver(server.ws, t_sender) as sender:
            resp = await asyncio.to_thread(post, server, "/api/v1/alarms", t_sender,
                                           {"template": "beistand"})
            assert resp.status_code == 201, resp.text
            alarm_id = resp.json()["id"]
            with httpx.Client(timeout=10) as phone:
                text, url, raw = await asyncio.to_thread(open_and_press, alarm_id, phone)
                help_coming = await sender.next_event(type="alarm_update", kind="help_coming",
                                                      timeout=8)
                assert help_coming["text"] == "Hilfe kommt: Franz Far"
                await asyncio.to_thread(second_use, url, phone)
            return alarm_id, text, raw

    alarm_id, text, raw = asyncio.run(scenario())
    alarm = Alarm.objects.get(pk=alarm_id)
    # "Ich komme" stopped the escalation exactly as in the app.
    assert alarm.state == "acknowledged" and alarm.next_deadline is None
    far = AlarmRecipient.objects.get(alarm=alarm, inbox__user=linked["far"])
    assert far.response == "cannot"
    lines = list(alarm.timeline.filter(kind="response").values_list("text", flat=True))
    assert lines == ["Franz Far: kommt (per SMS-Link)", "Franz Far: kann nicht (per SMS-Link)"]
    audited = AuditEvent.objects.filter(action="alarms.alarm.respond", object_id=str(alarm_id))
    assert audited.count() == 2
    assert {e.actor_id for e in audited} == {linked["far"].pk}
    assert all(e.after["via"] == "link" for e in audited)
    # Stored hashed, bound to the alarm and the receiver; the token itself is nowhere stored.
    link = AnswerLink.objects.get(alarm=alarm)
    assert link.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert link.recipient == far and link.used_at is not None
    assert not SmsMessage.objects.exclude(direction="out").filter(text__contains=raw).exists()
    assert text.startswith(f"ALARM Nr. {alarm_id} Beistand, ")


def test_wrong_expired_and_ended_links_look_the_same_and_are_rate_limited(
        linked, server, settings, gateway):  # noqa: F811
    sender = linked["sender"]
    expiring = services.trigger(user=sender, template="beistand").alarm
    ended = services.trigger(user=sender, template="bedrohung").alarm
    valid = services.trigger(user=sender, template="medizin").alarm
    links = {}
    for alarm in (expiring, ended, valid):
        links[alarm.pk] = _sms_link(gateway, alarm.pk)[1]
    AnswerLink.objects.filter(alarm=expiring).update(
        expires_at=timezone.now() - timedelta(seconds=1))
    services.resolve(sender, ended.pk)

    base = f"{server.http}/a/"
    wrong = [base + "A" * 22, base + "kurz", base + "%C3%84" * 30, links[expiring.pk],
             links[ended.pk]]
    settings.ALARM_ANSWER_LINK_MAX_MISSES = len(wrong)
    answers = [httpx.get(url, timeout=10) for url in wrong]
    assert {r.status_code for r in answers} == {404}
    assert len({r.text for r in answers}) == 1  # not there, expired, ended: the same page
    assert "Link ungültig oder abgelaufen" in answers[0].text
    assert answers[0].headers["Referrer-Policy"] == "same-origin"
    # A POST to a wrong link answers nothing either (CSRF aside, the link is checked first).
    assert AlarmRecipient.objects.exclude(response="").count() == 0

    # The limit is reached: every request from this address gets 429 for the window.
    blocked = httpx.get(links[valid.pk], timeout=10)
    assert blocked.status_code == 429 and "Zu viele Versuche" in blocked.text
    # ... with Retry-After: when the oldest miss that counts leaves the 10-minute window.
    assert 1 <= int(blocked.headers["Retry-After"]) <= 600
    settings.ALARM_ANSWER_LINK_MAX_MISSES = 100
    assert httpx.get(links[valid.pk], timeout=10).status_code == 200


def test_the_link_fits_the_sms_budget_whatever_the_lengths(people, settings):
    settings.BASE_URL = "https://" + "b" * 81 + ".example.de"  # 100 characters, the maximum
    settings.SMS_INBOUND_SECRET = "x"
    assert len(settings.BASE_URL) == 100
    with transaction.atomic():
        emp = people["sender"].employee
        emp.first_name, emp.last_name = "E" * 100, "S" * 100
        emp.mobile_phone = "+49 170 " + "1" * 30
        emp.save()
    alarm = services.trigger(user=people["sender"], template="beistand",
                             location_text="Ü" * 200,
                             position={"lat": 50.9375, "lon": 6.9603}).alarm
    token = "T" * 22
    text = sms.alarm_text(alarm, answer_links.url_for(token))
    assert len(text) <= sms.SMS_MAX
    assert text.endswith(f"/a/{token}")  # the link is never cut
    at = timezone.localtime(alarm.triggered_at).strftime("%d.%m. %H:%M")
    assert text.startswith(f"ALARM Nr. {alarm.pk} Beistand, {at} Uhr. Ort: Raum 1.01")
    assert "Tel. +49 170 1" in text and "Antwort: SMS 1 = Ich komme, 2 = Kann nicht" in text


def test_an_amok_alarm_has_no_link_and_a_control_room_none(people):
    """Nobody is to come to an Amok: there is nothing to answer. A control room (no receiver
    on the alarm) gets no link either. (No server runs: the trigger delivers in its own
    transaction.)"""
    set_tiers({"kind": "external", "external_phone": "0221 9876543"})
    alarm = services.trigger(user=people["sender"], template="beistand").alarm
    (control,) = SmsMessage.objects.filter(alarm=alarm)
    assert control.phone == "+492219876543" and "/a/" not in control.text
    amok = services.trigger(user=people["sender"], template="amok").alarm
    inboxes = AlarmRecipient.objects.filter(alarm=amok).values_list("inbox_id", flat=True)
    assert inboxes and answer_links.issue(amok, set(inboxes), timezone.now()) == {}
    assert not AnswerLink.objects.exists()
