"""The trigger calls on their own path: ``POST /api/v1/alarms`` with a bearer token and the
device trigger URL, answered without Django's request stack.

Why: Django runs synchronous views one at a time on one thread, so an alarm would wait behind
any slow request (a PDF, an export). Here the alarm is stored on the alarm engine's own database
threads and answered as soon as it is committed. The same schemas and services as the regular
API endpoints are used (those stay for browser sessions with CSRF and for the OpenAPI
document), and errors are the same problem details.
"""

import json
import logging
from urllib.parse import parse_qsl, unquote_to_bytes

from django.conf import settings
from pydantic import ValidationError

from beistand.accounts.services import user_for_api_token
from beistand.alarms import api, runtime, server, services
from beistand.audit import services as audit
from beistand.core.errors import DomainError
from beistand.core.problems import field_errors_from_pydantic

logger = logging.getLogger("beistand.alarms")

ALARMS_PATH = "/api/v1/alarms"
TRIGGER_PREFIX = "/api/v1/trigger/"
PROBLEM = "application/problem+json"
# A trigger body is flat (the position object is its deepest part): deeper JSON is refused with
# 400 before authentication, never a 500 (issue 16, finding 11).
MAX_JSON_DEPTH = 8


def _deeper_than(value, limit: int) -> bool:
    if limit < 0:
        return True
    if isinstance(value, dict):
        return any(_deeper_than(v, limit - 1) for v in value.values())
    if isinstance(value, list):
        return any(_deeper_than(v, limit - 1) for v in value)
    return False


def handles(scope) -> bool:
    if not runtime.running():
        return False
    path, method = scope["path"], scope["method"]
    if path.startswith(TRIGGER_PREFIX) and method in ("GET", "POST") and \
            "/" not in path[len(TRIGGER_PREFIX):].rstrip("/"):
        return True
    if path.rstrip("/") == ALARMS_PATH and method == "POST":
        # Bearer tokens only; browser sessions go through Django (CSRF).
        return any(name == b"authorization" and value[:7].lower() == b"bearer "
                   for name, value in scope["headers"])
    return False


async def _body(receive, limit: int) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"\0too-big"
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _respond(send, status: int, body: dict, content_type="application/json", headers=()):
    data = json.dumps(body, ensure_ascii=False, default=str).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type.encode()),
                            (b"content-length", str(len(data)).encode()),
                            (b"cache-control", b"no-store"),
                            (b"x-content-type-options", b"nosniff"), *headers]})
    await send({"type": "http.response.body", "body": data})


def _problem(status, title, detail, slug, errors=None) -> dict:
    body = {"type": f"/api/v1/problems/{slug}", "title": title, "status": status,
            "detail": detail}
    if errors:
        body["errors"] = errors
    return body


def _run_trigger(token: str, device_token: str | None, data: dict, remote: str):
    """On a database thread: authenticate, trigger, describe. -> (status, body)."""
    with audit.acting_as(audit.Actor(user=None, label="anonymous", remote_addr=remote)):
        if device_token is not None:
            result = api.trigger_from_device_url(device_token, data)
        else:
            user = user_for_api_token(token)
            if user is None:
                raise _Problem(401, "Anmeldung erforderlich",
                               "Anmeldung erforderlich: gültiges Token fehlt, ist abgelaufen "
                               "oder widerrufen.", "not-authenticated")
            payload = api.TriggerIn.model_validate(data)
            with audit.acting_as(audit.actor_for_user(user, remote)):
                result = services.trigger(
                    user=user, template=payload.template, source=payload.source,
                    position=api.position_dict(payload.position),
                    client_id=payload.client_id or "",
                    countdown_s=payload.countdown_s, location_text=payload.location_text,
                    audience=payload.audience, pressed_at=payload.pressed_at)
    return (201 if result.created else 200), api.TriggerOut.model_validate(
        api.trigger_out(result)).model_dump(mode="json")


class _Problem(Exception):
    def __init__(self, status, title, detail, slug, errors=None):
        super().__init__(detail)
        self.body = _problem(status, title, detail, slug, errors)
        self.status = status


async def handle(scope, receive, send):
    path = scope["path"]
    device_token = None
    token = ""
    if path.startswith(TRIGGER_PREFIX):
        device_token = path[len(TRIGGER_PREFIX):].rstrip("/")
    else:
        for name, value in scope["headers"]:
            if name == b"authorization":
                token = value[7:].decode("latin-1").strip()
    body = await _body(receive, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    if body is None:
        return
    if body == b"\0too-big":
        return await _respond(send, 413, _problem(
            413, "Anfrage zu groß", "Der Anfrageinhalt überschreitet die zulässige Größe.",
            "payload-too-large"), PROBLEM)
    if device_token is not None:
        query = scope.get("query_string", b"")
        if b"\x00" in unquote_to_bytes(query) or "\x00" in device_token:
            return await _respond(send, 400, _problem(
                400, "Ungültige Anfrage", "Steuerzeichen (NUL) sind nicht erlaubt.",
                "invalid-input"), PROBLEM)
        data = dict(parse_qsl(query.decode("latin-1")))
    else:
        try:
            data = json.loads(body or b"null")
        except (ValueError, RecursionError):  # deep nesting: RecursionError, before auth
            data = None
        if isinstance(data, dict) and _deeper_than(data, MAX_JSON_DEPTH):
            return await _respond(send, 400, _problem(
                400, "Ungültiges JSON", "Der Anfrageinhalt ist zu tief verschachtelt.",
                "malformed-json"), PROBLEM)
        if not isinstance(data, dict):
            return await _respond(send, 400, _problem(
                400, "Ungültiges JSON", "Der Anfrageinhalt ist kein gültiges JSON-Objekt.",
                "malformed-json"), PROBLEM)
    client = scope.get("client") or ("", 0)
    try:
        engine = server.engine()
        if engine is None:  # the server stopped under this request
            raise _Problem(503, "Dienst nicht verfügbar", "Der Alarm-Server startet neu. "
                           "Bitte sofort erneut auslösen.", "unavailable")
        status, answer = await engine.urgent_db(_run_trigger, token, device_token, data,
                                                client[0] or "")
    except _Problem as exc:
        headers = [(b"www-authenticate", b"Bearer")] if exc.status == 401 else []
        return await _respond(send, exc.status, exc.body, PROBLEM, headers)
    except ValidationError as exc:
        errors = field_errors_from_pydantic(exc.errors())
        first = errors[0] if errors else {"field": "body", "detail": "Ungültige Eingabe."}
        return await _respond(send, 400, _problem(
            400, "Ungültige Eingabe", f"{first['field']}: {first['detail']}", "invalid-input",
            errors), PROBLEM)
    except DomainError as exc:
        retry_after = getattr(exc, "retry_after", None)
        return await _respond(send, exc.status, _problem(
            exc.status, exc.title, exc.detail, exc.type_slug, exc.errors), PROBLEM,
            [(b"retry-after", str(retry_after).encode())] if retry_after else [])
    except Exception:
        logger.exception("Alarm-Auslösung fehlgeschlagen")
        return await _respond(send, 500, _problem(
            500, "Serverfehler", "Der Alarm konnte nicht gespeichert werden. Bitte sofort "
            "erneut auslösen oder telefonisch Hilfe holen.", "server-error"), PROBLEM)
    return await _respond(send, status, answer)
