"""Issue 16, finding 2: every WebSocket and every session path refuses a session without a
verified second factor where HTTP would.

Reproduced: an admin logs in with the password only (sent to the enrolment), opens the alarm
WebSocket with that cookie and sends ``resolve`` for an Amok alarm — it was resolved."""

import asyncio
import json

import pytest
import websockets
from django.test import Client
from django.urls import reverse

from beistand.accounts.roles import Role
from beistand.alarms import services as alarms
from beistand.alarms.models import Alarm
from tests.accounts.helpers import login_verified, password_login
from tests.alarms.conftest import alarm_defaults, people, server  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def _cookie(browser, settings) -> str:
    return f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"


async def _first_frame_or_close(url, cookie, then=None):
    """-> ("frame", first text) or ("closed", code). ``then``: a frame sent after the first."""
    try:
        async with websockets.connect(url, additional_headers={"Cookie": cookie},
                                      open_timeout=5) as ws:
            first = await asyncio.wait_for(ws.recv(), 5)
            if then is not None:
                await ws.send(json.dumps(then))
                await asyncio.wait_for(ws.recv(), 5)
            return "frame", first
    except websockets.ConnectionClosed as closed:
        return "closed", closed.rcvd.code if closed.rcvd else None


def test_password_only_session_of_an_admin_gets_no_socket(server, people, make_user,  # noqa: F811
                                                          settings):
    admin = make_user("admin", roles=[Role.ADMIN])
    alarm = alarms.trigger(user=people["sender"], template="amok", source="web").alarm
    browser = Client()
    response = password_login(browser, "admin")
    assert response.status_code == 302
    # HTTP treats this session as not logged in: every page sends it to the second factor.
    assert browser.get("/")["Location"].startswith(reverse("accounts:second_factor"))
    resolve = {"type": "resolve", "alarm_id": alarm.pk, "note": "erledigt", "request_id": "r1"}
    kind, value = asyncio.run(_first_frame_or_close(f"{server.ws}/ws/v1/alarms",
                                                    _cookie(browser, settings), then=resolve))
    assert (kind, value) == ("closed", 4401)
    assert Alarm.objects.get(pk=alarm.pk).is_open
    kind, value = asyncio.run(_first_frame_or_close(f"{server.ws}/ws/v1/ping",
                                                    _cookie(browser, settings)))
    assert (kind, value) == ("closed", 4401)

    # The same person after the second factor: the socket opens.
    verified = Client()
    login_verified(verified, admin)
    kind, value = asyncio.run(_first_frame_or_close(f"{server.ws}/ws/v1/alarms",
                                                    _cookie(verified, settings)))
    assert kind == "frame" and json.loads(value)["type"] == "hello"


def test_reporter_session_needs_no_second_factor(server, people, settings):  # noqa: F811
    browser = Client()
    browser.force_login(people["neighbour"])
    kind, value = asyncio.run(_first_frame_or_close(f"{server.ws}/ws/v1/alarms",
                                                    _cookie(browser, settings)))
    assert kind == "frame" and json.loads(value)["type"] == "hello"
