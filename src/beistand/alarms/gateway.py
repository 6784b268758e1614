"""The client of the SMS gateway's HTTP API (the generic JSON provider): one POST of a JSON body
with ``Authorization: Bearer BEISTAND_SMS_HTTP_TOKEN``; a 2xx answer with ``{"id": …}`` means
accepted. Used for SMS (``BEISTAND_SMS_HTTP_URL``) and voice calls (``BEISTAND_SMS_CALL_URL``)
by ``beistand.alarms``; callers hold no transaction while it runs (``notify/outbox.py``).
The contract is in docs/integration.md."""

import json
import urllib.error
import urllib.request

from django.conf import settings


class GatewayError(RuntimeError):
    """The gateway refused or could not be reached: try again later."""


def post_json(url: str, body: dict) -> str:
    """POST ``body`` to the gateway at ``url`` (the operator's configuration, never user input).
    -> the gateway's id of the message or call ("" if it gave none)."""
    if not url:
        raise GatewayError("Gateway-URL ist nicht gesetzt")
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",  # noqa: S310
                                     headers={"Content-Type": "application/json"})
    if settings.SMS_HTTP_TOKEN:
        request.add_header("Authorization", f"Bearer {settings.SMS_HTTP_TOKEN}")
    try:
        with urllib.request.urlopen(request, timeout=settings.SMS_HTTP_TIMEOUT) as resp:  # noqa: S310
            answer = resp.read(65536)
    except urllib.error.HTTPError as exc:
        raise GatewayError(f"Gateway antwortete {exc.code}") from exc
    try:
        return str(json.loads(answer or b"{}").get("id", ""))[:100]
    except (ValueError, AttributeError):
        return ""
