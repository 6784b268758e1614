"""Bad input never changes anything: the HTTP API answers with a clear problem+json, the
WebSocket with an ``error`` frame on a connection that stays usable; bad credentials close with
4401, also when a token is revoked while connected. And resuming: a reconnecting client gets
exactly the events it missed, in order, and an unreceipted event is sent again."""

import asyncio
import json

import pytest
import websockets
from django.utils import timezone

from beistand.accounts.models import ApiToken, DeviceToken
from beistand.accounts.roles import Role
from beistand.accounts.services import (
    create_device_token,
    revoke_api_token,
    revoke_device_token,
)
from beistand.alarms import engine
from beistand.alarms.models import Alarm, AlarmMessage, AlarmRecipient, Inbox, InboxEvent
from beistand.alarms.socket import MAX_FRAME
from tests.alarms.conftest import Receiver
from tests.alarms.helpers import post, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin(make_user, people):
    return make_user("admin", roles=[Role.ADMIN])


def nothing_stored():
    return Alarm.objects.count() == 0 and InboxEvent.objects.count() == 0


# --- HTTP ---------------------------------------------------------------------------------------

BAD_TRIGGERS = [
    # body, field or text the detail must name
    ({"template": "gibtsnicht"}, "gibtsnicht"),
    ({"template": "entwarnung"}, "Entwarnung"),
    ({"template": "beistand", "position": {"lat": 91, "lon": 6.96}}, "lat"),
    ({"template": "beistand", "position": {"lat": 50.9, "lon": -181}}, "lon"),
    ({"template": "beistand", "position": {"lat": 50.9}}, "lon"),
    ({"template": "beistand", "position": {"lat": 50.9, "lon": 6.9, "accuracy_m": -1}},
     "accuracy_m"),
    ({"template": "beistand", "client_id": "drück mich"}, "client_id"),
    ({"template": "beistand", "client_id": "a/b"}, "client_id"),
    ({"template": "beistand", "client_id": "x" * 65}, "client_id"),
    ({"template": "beistand", "colour": "red"}, "colour"),
    ({"template": "beistand", "source": "fax"}, "source"),
    ({"template": "beistand", "countdown_s": 31}, "countdown_s"),
    ({"template": "beistand", "countdown_s": -1}, "countdown_s"),
    ({"template": "beistand", "audience": "everyone"}, "audience"),
    ({"template": "beistand", "location_text": "x\x00y"}, "location_text"),
    ({}, "template"),
]


def test_bad_trigger_requests_are_refused_and_store_nothing(server, people, fast_plan, token):
    t = token(people["sender"])
    for body, named in BAD_TRIGGERS:
        resp = post(server, "/api/v1/alarms", t, body)
        assert resp.status_code == 400, (body, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json"), body
        problem = resp.json()
        assert named in problem["detail"] or named in json.dumps(problem), (body, problem)
    assert nothing_stored()

    # Not JSON at all.
    resp = post(server, "/api/v1/alarms", t, content=b"{kaputt",
                headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and resp.json()["detail"]
    assert nothing_stored()


def test_unknown_template_names_the_allowed_ones(server, people, fast_plan, token):
    resp = post(server, "/api/v1/alarms", token(people["sender"]), {"template": "feuer"})
    detail = resp.json()["detail"]
    for code in ("beistand", "bedrohung", "medizin", "amok", "probealarm"):
        assert code in detail
    assert "entwarnung" not in detail  # not triggerable, so not offered


def test_without_valid_credentials_401(server, people, fast_plan, token, admin):
    for headers in ({}, {"Authorization": "Bearer bst_falsch"},
                    {"Authorization": "Bearer bsd_falsch"}, {"Authorization": "Basic eDp5"}):
        resp = post(server, "/api/v1/alarms", json_body={"template": "beistand"},
                    headers=headers)
        assert resp.status_code == 401, headers
        assert resp.headers["content-type"].startswith("application/problem+json")
    # A device token is no user login for the user API.
    clear, _ = create_device_token(admin, "Taster 1.01", "button_hub",
                                   room=people["sender"].employee.room)
    resp = post(server, "/api/v1/alarms", clear, {"template": "beistand"})
    assert resp.status_code == 401
    assert nothing_stored()


def test_actions_on_foreign_alarms_are_refused(server, people, fast_plan, token):
    t_sender, t_far = token(people["sender"]), token(people["far"])
    alarm_id = post(server, "/api/v1/alarms", t_sender,
                    {"template": "probealarm", "client_id": "p1"}).json()["id"]
    for path, body in ((f"/api/v1/alarms/{alarm_id}/respond", {"response": "coming"}),
                       (f"/api/v1/alarms/{alarm_id}/messages", {"text": "Hallo"}),
                       (f"/api/v1/alarms/{alarm_id}/resolve", {}),
                       (f"/api/v1/alarms/{alarm_id}/cancel", None)):
        resp = post(server, path, t_far, body)
        # Not on it: as for an unknown id (issue 16, finding 13).
        assert resp.status_code == 404, (path, resp.text)
    resp = post(server, f"/api/v1/alarms/{alarm_id}/respond", t_sender, {"response": "maybe"})
    assert resp.status_code == 400
    resp = post(server, f"/api/v1/alarms/{alarm_id + 99}/respond", t_far, {"response": "coming"})
    assert resp.status_code == 404
    alarm = Alarm.objects.get(pk=alarm_id)
    assert alarm.state == "triggered" and not AlarmMessage.objects.exists()
    assert not AlarmRecipient.objects.filter(alarm=alarm).exists()


# --- WebSocket: bad frames ----------------------------------------------------------------------

async def expect_error(receiver, code, request_id=None):
    err = await receiver.control(type="error")
    assert err["code"] == code, err
    assert err["detail"], err
    if request_id is not None:
        assert err.get("request_id") == request_id, err
    # The connection stays usable.
    await receiver.send({"type": "ping"})
    await receiver.control(type="pong")
    return err


def test_bad_frames_get_an_error_and_the_connection_stays_usable(server, people, fast_plan,
                                                                  token):
    t_sender, t_neighbour = token(people["sender"]), token(people["neighbour"])

    async def scenario():
        async with Receiver(server.ws, t_neighbour) as nb, Receiver(server.ws, t_sender) as snd:
            await asyncio.sleep(0.5)
            bad = [
                "kein json",
                "[1, 2, 3]",
                '"text"',
                "{}",
                '{"type": 7}',
                '{"type": "teleport"}',
                '{"type": "receipt", "event_id": "5"}',
                '{"type": "receipt", "event_id": -1}',
                '{"type": "receipt", "event_id": 1.5}',
                '{"type": "receipt"}',
                '{"type": "resume", "last_event_id": true}',
                '{"type": "ping", "request_id": 5}',
                json.dumps({"type": "ping", "request_id": "r" * 65}),
                '{"type": "respond", "alarm_id": "1", "response": "coming"}',
                '{"type": "respond", "alarm_id": 1, "response": "vielleicht"}',
                '{"type": "message", "alarm_id": 1, "text": 42}',
                '{"type": "resolve", "alarm_id": 1, "note": ["x"]}',
                '{"type": "position", "lat": "50.9", "lon": 6.9}',
                '{"type": "position", "lat": 50.9}',
                json.dumps({"type": "ping", "pad": "x" * MAX_FRAME}),
            ]
            for text in bad:
                await nb.ws.send(text)
                await expect_error(nb, "bad_frame")
            await nb.ws.send(b"\x00\x01binary")
            await expect_error(nb, "bad_frame")
            # A request id is echoed on the error.
            await nb.send({"type": "teleport", "request_id": "q1"})
            await expect_error(nb, "bad_frame", request_id="q1")

            # Position out of range: refused by the service, nothing stored.
            await nb.send({"type": "position", "lat": 91, "lon": 0, "request_id": "p"})
            await expect_error(nb, "invalid", request_id="p")

            # A test alarm only the sender is part of.
            resp = await asyncio.to_thread(post, server, "/api/v1/alarms", t_sender,
                                           {"template": "probealarm"})
            own = resp.json()["id"]
            await nb.send({"type": "respond", "alarm_id": own, "response": "coming",
                           "request_id": "x"})
            # Not on it: the same answer as for an alarm that does not exist (issue 16, 13.).
            await expect_error(nb, "not_found", request_id="x")
            await nb.send({"type": "message", "alarm_id": own, "text": "Hallo"})
            await expect_error(nb, "not_found")
            await nb.send({"type": "resolve", "alarm_id": own})
            err = await expect_error(nb, "not_found")
            assert err["detail"] == "Diesen Alarm gibt es nicht."
            await nb.send({"type": "respond", "alarm_id": own + 1000, "response": "coming"})
            await expect_error(nb, "not_found")
            # The sender cannot answer the own alarm; messages have at most 1000 characters.
            await snd.send({"type": "respond", "alarm_id": own, "response": "coming"})
            await expect_error(snd, "invalid")
            await snd.send({"type": "message", "alarm_id": own, "text": "x" * 1001})
            await expect_error(snd, "invalid")
            await snd.send({"type": "message", "alarm_id": own, "text": "   "})
            await expect_error(snd, "invalid")

            # A real alarm the neighbour is part of: answering works while it is open ...
            resp = await asyncio.to_thread(post, server, "/api/v1/alarms", t_sender,
                                           {"template": "beistand"})
            live = resp.json()["id"]
            await nb.next_event(type="alarm", alarm_id=live)
            await nb.send({"type": "respond", "alarm_id": live, "response": "cannot",
                           "request_id": "ok"})
            assert (await nb.control(type="result"))["request_id"] == "ok"
            # ... and is refused once it is over.
            await snd.send({"type": "resolve", "alarm_id": live, "request_id": "end"})
            await snd.control(type="result", request_id="end")
            await nb.next_event(type="alarm_update", kind="resolved")
            await nb.send({"type": "respond", "alarm_id": live, "response": "coming",
                           "request_id": "late"})
            await expect_error(nb, "conflict", request_id="late")
            return own, live

    own, live = asyncio.run(scenario())
    assert not AlarmMessage.objects.exists()
    assert Inbox.objects.get(user=people["neighbour"]).lat is None
    assert not AlarmRecipient.objects.filter(alarm_id=own).exists()
    row = AlarmRecipient.objects.get(alarm_id=live, inbox__user=people["neighbour"])
    assert row.response == "cannot"  # the late "coming" changed nothing
    assert Alarm.objects.get(pk=live).first_ack_at is None


def test_frames_from_a_room_device_cannot_act(server, people, fast_plan, token, admin):
    clear, _ = create_device_token(admin, "Empfang", "workstation",
                                   room=people["neighbour"].employee.room)

    async def scenario():
        async with Receiver(server.ws, clear) as dev:
            await dev.send({"type": "respond", "alarm_id": 1, "response": "coming"})
            await expect_error(dev, "forbidden")  # a refusal, never bad_frame

    asyncio.run(scenario())


# --- WebSocket: authentication ------------------------------------------------------------------

async def close_code(url, headers=None):
    async with websockets.connect(f"{url}/ws/v1/alarms", additional_headers=headers or {},
                                  open_timeout=5) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert frame["type"] != "hello", "unauthenticated client got a hello"
        return closed.value.rcvd.code


def test_no_or_bad_token_is_closed_4401(server, people, fast_plan, token, admin):
    clear, device = create_device_token(admin, "Alt", "workstation",
                                        room=people["neighbour"].employee.room)
    revoke_device_token(admin, device.pk)

    async def scenario():
        codes = [await close_code(server.ws)]
        for bad in ("bst_falsch", "bsd_falsch", "quatsch", clear):
            codes.append(await close_code(server.ws, {"Authorization": f"Bearer {bad}"}))
        codes.append(await close_code(f"{server.ws}", {"Cookie": "sessionid=unbekannt"}))
        return codes

    assert asyncio.run(scenario()) == [4401] * 6
    assert not Inbox.objects.filter(device=device).exists()


@pytest.mark.parametrize("where", ["here", "other_process"])
def test_token_revoked_while_connected_is_closed_4401(server, people, fast_plan, token, admin,
                                                      monkeypatch, where):
    """Revoked in this process (the service announces it after the commit), the token's live
    connections are closed at once - the periodic check is set to an hour, so only that push
    can close them. Revoked by another process (here: a plain UPDATE, no announcement), the
    periodic token check finds it (set to 0.3 s instead of 15 s)."""
    monkeypatch.setattr(engine, "TOKEN_CHECK_SECONDS", 3600 if where == "here" else 0.3)
    clear, device = create_device_token(admin, "Empfang", "workstation",
                                        room=people["neighbour"].employee.room)
    t_far, t_neighbour = token(people["far"]), token(people["neighbour"])
    far_token = people["far"].api_tokens.get()

    def revoke_device():
        if where == "here":
            revoke_device_token(admin, device.pk)
        else:
            DeviceToken.objects.filter(pk=device.pk).update(revoked_at=timezone.now())

    def revoke_far():
        if where == "here":
            revoke_api_token(people["far"], far_token.pk)
        else:
            ApiToken.objects.filter(pk=far_token.pk).update(revoked_at=timezone.now())

    async def scenario():
        async with Receiver(server.ws, clear) as dev, Receiver(server.ws, t_far) as far, \
                Receiver(server.ws, t_neighbour) as nb:
            await asyncio.to_thread(revoke_device)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await dev.control(type="never", timeout=20)
            assert closed.value.rcvd.code == 4401
            await asyncio.to_thread(revoke_far)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await far.control(type="never", timeout=20)
            assert closed.value.rcvd.code == 4401
            # Others stay connected.
            await nb.send({"type": "ping"})
            await nb.control(type="pong")

    asyncio.run(scenario())


# --- Resume and resend --------------------------------------------------------------------------

async def read_events(ws, until_seq, timeout=8.0, receipt=True):
    """Every event frame (duplicates included) until one with ``until_seq`` arrived."""
    got = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not got or got[-1]["event_id"] < until_seq:
        frame = json.loads(await asyncio.wait_for(ws.recv(), deadline - loop.time()))
        if "event_id" in frame:
            got.append(frame)
            if receipt:
                await ws.send(json.dumps({"type": "receipt", "event_id": frame["event_id"]}))
    return got


async def quiet(ws, seconds):
    """Event frames arriving within ``seconds`` (controls ignored)."""
    extra = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        try:
            frame = json.loads(await asyncio.wait_for(ws.recv(), left))
        except TimeoutError:
            break
        if "event_id" in frame:
            extra.append(frame["event_id"])
    return extra


async def connect(server, tok, resume=None):
    ws = await websockets.connect(f"{server.ws}/ws/v1/alarms",
                                  additional_headers={"Authorization": f"Bearer {tok}"},
                                  open_timeout=5)
    hello = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert hello["type"] == "hello"
    if resume is not None:
        await ws.send(json.dumps({"type": "resume", "last_event_id": resume}))
    return ws, hello


def last_seq(user):
    inbox = Inbox.objects.filter(user=user).first()
    return inbox.last_seq if inbox is not None else 0


def test_resume_gets_exactly_the_missed_events_in_order(server, people, fast_plan, token):
    t_sender, t_neighbour = token(people["sender"]), token(people["neighbour"])
    # While the neighbour is offline: an alarm and a thread.
    alarm_id = post(server, "/api/v1/alarms", t_sender, {"template": "beistand"}).json()["id"]
    # The 201 comes once the alarm is stored; its receivers are notified right after.
    wait_for(lambda: last_seq(people["neighbour"]) > 0, what="alarm stored for the neighbour")
    for i in range(3):
        assert post(server, f"/api/v1/alarms/{alarm_id}/messages", t_sender,
                    {"text": f"Nachricht {i}"}).status_code == 201
    first = last_seq(people["neighbour"])
    assert first >= 4

    async def scenario():
        ws, hello = await connect(server, t_neighbour, resume=0)
        assert hello["last_event_id"] == first
        got = await read_events(ws, first)
        assert [e["event_id"] for e in got] == list(range(1, first + 1))
        assert got[0]["type"] == "alarm" and got[0]["alarm_id"] == alarm_id
        assert [e["text"] for e in got if e["type"] == "message"] == [
            "Nachricht 0", "Nachricht 1", "Nachricht 2"]
        assert await quiet(ws, 0.5) == []
        await ws.close()

        # Missed while away: more messages. Resuming after the last processed event brings
        # exactly those.
        for i in range(3, 6):
            await asyncio.to_thread(post, server, f"/api/v1/alarms/{alarm_id}/messages",
                                    t_sender, {"text": f"Nachricht {i}"})
        second = await asyncio.to_thread(last_seq, people["neighbour"])
        assert second == first + 3
        ws, hello = await connect(server, t_neighbour, resume=first)
        assert hello["last_event_id"] == second
        got = await read_events(ws, second)
        assert [e["event_id"] for e in got] == list(range(first + 1, second + 1))
        assert [e["text"] for e in got] == ["Nachricht 3", "Nachricht 4", "Nachricht 5"]
        # Live events continue the numbering without a gap.
        await asyncio.to_thread(post, server, f"/api/v1/alarms/{alarm_id}/messages", t_sender,
                                {"text": "live"})
        got = await read_events(ws, second + 1)
        assert [(e["event_id"], e["text"]) for e in got] == [(second + 1, "live")]
        assert await quiet(ws, 0.5) == []
        await ws.close()

        # A client that lost its state resumes from an older point and gets all after it.
        ws, _ = await connect(server, t_neighbour, resume=2)
        got = await read_events(ws, second + 1)
        assert [e["event_id"] for e in got] == list(range(3, second + 2))
        await ws.close()

        # A number from the future (a restored server) cannot hide new events.
        ws, _ = await connect(server, t_neighbour, resume=10_000)
        await asyncio.to_thread(post, server, f"/api/v1/alarms/{alarm_id}/messages", t_sender,
                                {"text": "nach Wiederherstellung"})
        got = await read_events(ws, second + 2)
        assert [e["event_id"] for e in got] == [second + 2]
        await ws.close()

    asyncio.run(scenario())


def test_without_resume_the_client_gets_everything_after_its_last_receipt(server, people,
                                                                          fast_plan, token):
    t_sender, t_neighbour = token(people["sender"]), token(people["neighbour"])
    alarm_id = post(server, "/api/v1/alarms", t_sender, {"template": "beistand"}).json()["id"]
    # The 201 comes once the alarm is stored; its receivers are notified right after.
    wait_for(lambda: last_seq(people["neighbour"]) > 0, what="alarm stored for the neighbour")
    first = last_seq(people["neighbour"])

    async def scenario():
        ws, _ = await connect(server, t_neighbour, resume=0)
        await read_events(ws, first)
        await asyncio.to_thread(
            wait_for, lambda: Inbox.objects.get(user=people["neighbour"]).acked_seq == first,
            what="receipts stored")
        await ws.close()
        await asyncio.to_thread(post, server, f"/api/v1/alarms/{alarm_id}/messages", t_sender,
                                {"text": "verpasst"})
        ws, _ = await connect(server, t_neighbour, resume=None)  # no resume frame
        got = await read_events(ws, first + 1)
        assert [(e["event_id"], e.get("text")) for e in got] == [(first + 1, "verpasst")]
        await ws.close()

    asyncio.run(scenario())


def test_unreceipted_event_is_resent(server, people, fast_plan, token, settings):
    settings.ALARM_RESEND_SECONDS = 1
    t_sender, t_neighbour = token(people["sender"]), token(people["neighbour"])

    async def scenario():
        ws, _ = await connect(server, t_neighbour, resume=0)
        await asyncio.sleep(0.5)
        resp = await asyncio.to_thread(post, server, "/api/v1/alarms", t_sender,
                                       {"template": "beistand"})
        alarm_id = resp.json()["id"]
        first = await read_events(ws, 1, receipt=False)
        assert [e["event_id"] for e in first] == [1] and first[0]["alarm_id"] == alarm_id
        # Not receipted: the same event comes again (after it, later ones again too).
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 8
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), deadline - loop.time()))
            if frame.get("event_id") == 1:
                break
        assert frame == first[0]
        await ws.send(json.dumps({"type": "receipt", "event_id": 1}))
        # Receipted: it is recorded as delivered and not sent again.
        await asyncio.to_thread(
            wait_for, lambda: AlarmRecipient.objects.filter(
                alarm_id=alarm_id, inbox__user=people["neighbour"],
                delivered_at__isnull=False).exists(), what="delivery recorded")
        extra = [e for e in await quiet(ws, 2.5) if e == 1]
        await ws.close()
        return extra

    assert asyncio.run(scenario()) == []


def test_receipt_beyond_what_was_stored_hides_no_events(server, people, fast_plan, token):
    """A receipt for events that do not exist yet must not swallow them when they come."""
    t_sender, t_neighbour = token(people["sender"]), token(people["neighbour"])

    async def scenario():
        ws, hello = await connect(server, t_neighbour, resume=0)
        assert hello["last_event_id"] == 0
        await ws.send(json.dumps({"type": "receipt", "event_id": 50}))
        await ws.send(json.dumps({"type": "ping"}))
        while json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] != "pong":
            pass
        await asyncio.sleep(0.5)  # receipts are written in batches
        await ws.close()
        await asyncio.to_thread(post, server, "/api/v1/alarms", t_sender,
                                {"template": "beistand"})
        ws, _ = await connect(server, t_neighbour, resume=None)  # after its last receipt
        got = await read_events(ws, 1)
        assert got[0]["event_id"] == 1 and got[0]["type"] == "alarm"
        await ws.close()

    asyncio.run(scenario())
    assert Inbox.objects.get(user=people["neighbour"]).acked_seq <= 1
