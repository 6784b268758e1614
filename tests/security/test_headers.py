"""Security headers and CSRF on every page any role can open: the CSP never allows inline
script or eval, every POST form carries a CSRF token; HSTS and secure cookies in production."""

import json
import os
import re
import subprocess
import sys

import pytest

from tests.security.conftest import ROLES
from tests.security.expectations import page_rule
from tests.security.routes import page_routes, url_for
from tests.security.test_authorization_matrix import CLIENT, args_for

pytestmark = pytest.mark.django_db

# The one documented exception: Swagger UI (/api/v1/docs/) sets style attributes from its
# script, so its page allows inline *styles* (never inline scripts). docs/security.md.
STYLE_EXCEPTION = {"/api/v1/docs/"}
FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.S | re.I)
POST = re.compile(r"""method\s*=\s*["']?post""", re.I)


def directives(header: str) -> dict[str, list[str]]:
    out = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def test_every_page_has_a_strict_csp_and_csrf_tokens_in_post_forms(world):
    problems, pages_seen, forms_seen = [], 0, 0
    for route in page_routes():
        rule = page_rule(route.pattern)
        if rule is None or rule.method == "POST":
            continue
        url = url_for(route, args_for(world, route))
        for role in ROLES:
            response = world.browsers[role].get(url, **CLIENT)
            if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                continue
            pages_seen += 1
            csp = response.get("Content-Security-Policy", "")
            if not csp:
                problems.append(f"{url} ({role}): no Content-Security-Policy")
                continue
            parsed = directives(csp)
            for name, values in parsed.items():
                unsafe = {"'unsafe-inline'", "'unsafe-eval'"} & set(values)
                if unsafe and not (url in STYLE_EXCEPTION and name == "style-src"
                                   and unsafe == {"'unsafe-inline'"}):
                    problems.append(f"{url} ({role}): {name} allows {', '.join(unsafe)}")
            for needed in ("default-src", "script-src", "frame-ancestors", "form-action"):
                if needed not in parsed:
                    problems.append(f"{url} ({role}): CSP without {needed}")
            html = response.content.decode()
            for form in FORM.findall(html):
                opening = form[:form.index(">") + 1]
                if POST.search(opening):
                    forms_seen += 1
                    if "csrfmiddlewaretoken" not in form:
                        problems.append(f"{url} ({role}): POST form without CSRF token: "
                                        f"{opening[:120]}")
            if response.get("X-Frame-Options") != "DENY":
                problems.append(f"{url} ({role}): X-Frame-Options is not DENY")
            if response.get("X-Content-Type-Options") != "nosniff":
                problems.append(f"{url} ({role}): no X-Content-Type-Options: nosniff")
    assert pages_seen > 50 and forms_seen > 20, (pages_seen, forms_seen)
    assert not problems, "\n".join(problems)


def test_post_without_csrf_token_is_refused(world):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.cookies = world.browsers["reporter"].cookies
    from beistand.alarms.models import Alarm

    before = Alarm.objects.count()
    response = browser.post("/alarm/ausloesen/", {"template": "beistand"})
    assert response.status_code == 403
    assert Alarm.objects.count() == before


def test_hsts_on_https_responses(client, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    response = client.get("/konto/anmelden/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in client.get("/konto/anmelden/")


def _production_settings(**env) -> dict:
    """The security settings as a production process would compute them."""
    code = ("import json, django; from django.conf import settings as s; django.setup(); "
            "print(json.dumps({k: getattr(s, k) for k in ('SESSION_COOKIE_SECURE', "
            "'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', 'SECURE_HSTS_SECONDS', "
            "'SESSION_COOKIE_SAMESITE')}))")
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("BEISTAND_") or k == "BEISTAND_DATA_DIR"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**base, "DJANGO_SETTINGS_MODULE": "beistand.settings", **env},
                            check=True, timeout=60)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_defaults_secure_cookies_and_hsts():
    prod = _production_settings()
    assert prod == {"SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": True,
                    "SESSION_COOKIE_HTTPONLY": True, "SECURE_HSTS_SECONDS": 31536000,
                    "SESSION_COOKIE_SAMESITE": "Lax"}
    plain = _production_settings(BEISTAND_SECURE_COOKIES="false")
    assert plain["SECURE_HSTS_SECONDS"] == 0 and not plain["SESSION_COOKIE_SECURE"]
    assert _production_settings(BEISTAND_HSTS_SECONDS="600")["SECURE_HSTS_SECONDS"] == 600
