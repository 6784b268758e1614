"""A browser's alarm socket authenticated by its session ends when the session ends."""

import asyncio

import pytest
import websockets
from django.contrib.sessions.models import Session
from django.test import Client

from beistand.alarms import engine

pytestmark = pytest.mark.django_db(transaction=True)


def test_logged_out_session_closes_its_socket_4401(server, people, monkeypatch, settings):
    monkeypatch.setattr(engine, "TOKEN_CHECK_SECONDS", 0.3)
    browser = Client()
    browser.force_login(people["neighbour"])
    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"

    async def scenario():
        async with websockets.connect(f"{server.ws}/ws/v1/alarms",
                                      additional_headers={"Cookie": cookie}) as ws:
            hello = await asyncio.wait_for(ws.recv(), 5)
            assert '"hello"' in hello
            await asyncio.to_thread(Session.objects.all().delete)  # logged out elsewhere
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
            return closed.value.rcvd.code

    assert asyncio.run(scenario()) == 4401
