"""Every problem response (RFC 9457) the API gives during the test suite is one its operation
declares in the OpenAPI document (issue 22): status and ``type``.

A pytest plugin (registered in tests/conftest.py), like tests/protocol_check.py for WebSocket
frames: an autouse fixture wraps Django's request handling (the test client and the servers in
the test process) and the alarm trigger's fast path (the real handling still runs), keeps the
``application/problem+json`` answers given during the test and fails the test at teardown if an
operation of the alarm, push, device or register routes gave one its schema does not list.
"""

import json
import re
import threading
from functools import cache

import pytest

PROBLEM = "application/problem+json"
CHECKED = re.compile(r"^/api/v1/(alarms|alarm-templates|trigger/|sms/|push/|devices|register/)")


@cache
def declared() -> list[tuple[re.Pattern, str, str, frozenset]]:
    """(path pattern, method, operationId, {(status, type slug)}), most literal paths first."""
    from beistand.api import api

    rows = []
    for path, item in api.get_openapi_schema()["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(path)) + "/?$")
        for method, op in item.items():
            found = set()
            for code, response in op["responses"].items():
                content = response.get("content", {}).get(PROBLEM)
                if content:
                    enum = content["schema"]["allOf"][1]["properties"]["type"]["enum"]
                    found |= {(int(code), t) for t in enum}
            rows.append((path.count("{"), pattern, method.upper(), op["operationId"],
                         frozenset(found)))
    return [row[1:] for row in sorted(rows, key=lambda r: r[0])]


def undeclared(seen) -> list[str]:
    wrong = []
    for method, path, status, kind in sorted(set(seen)):
        if not CHECKED.match(path):
            continue
        op = next((row for row in declared() if row[1] == method and row[0].match(path)), None)
        if op is None:
            continue  # no operation (an unknown path): not an operation's answer
        if (status, kind) not in op[3]:
            wrong.append(f"{op[2]} ({method} {path}): {status} {kind}")
    return wrong


def _problem_type(body: bytes) -> str:
    try:
        return json.loads(body).get("type", "")
    except (ValueError, AttributeError):
        return "(no JSON)"


@pytest.fixture(autouse=True)
def _api_problems_are_declared():
    from django.core.handlers.base import BaseHandler

    from beistand.alarms import fastpath

    seen: list[tuple[str, str, int, str]] = []
    lock = threading.Lock()

    def note(method, path, status, content_type, body):
        if content_type.startswith(PROBLEM) and path.startswith("/api/v1/"):
            with lock:
                seen.append((method, path, status, _problem_type(body)))

    sync_original, async_original = BaseHandler.get_response, BaseHandler.get_response_async
    fast_original = fastpath.handle

    def get_response(self, request):
        response = sync_original(self, request)
        note(request.method, request.path, response.status_code,
             response.get("Content-Type", ""), getattr(response, "content", b""))
        return response

    async def get_response_async(self, request):
        response = await async_original(self, request)
        note(request.method, request.path, response.status_code,
             response.get("Content-Type", ""), getattr(response, "content", b""))
        return response

    async def handle(scope, receive, send):
        start = {}

        async def watch(message):
            if message["type"] == "http.response.start":
                start.update(status=message["status"], headers=dict(message.get("headers", ())))
            elif message["type"] == "http.response.body":
                note(scope["method"], scope["path"], start.get("status", 0),
                     start.get("headers", {}).get(b"content-type", b"").decode(),
                     message.get("body", b""))
            await send(message)

        return await fast_original(scope, receive, watch)

    BaseHandler.get_response, BaseHandler.get_response_async = get_response, get_response_async
    fastpath.handle = handle
    try:
        yield seen
    finally:
        BaseHandler.get_response, BaseHandler.get_response_async = (sync_original,
                                                                     async_original)
        fastpath.handle = fast_original
    with lock:
        wrong = undeclared(seen) if seen else []
    if wrong:
        pytest.fail("problem responses not declared in the operation's OpenAPI responses:\n"
                    + "\n".join(wrong), pytrace=False)
