"""Every URL pattern and every API operation × every role against the rules in expectations.py.

The routes come from the URL conf and the OpenAPI schema, so a new page or operation without a
rule fails here ("no rule for …") until somebody decides who may call it.
"""

import re

import pytest
from django.apps import apps

from tests.security.conftest import ROLES
from tests.security.expectations import LOGIN, REDIRECT, api_rule, page_rule
from tests.security.routes import api_routes, page_routes, url_for

pytestmark = pytest.mark.django_db

# Requests come from a client address that is not the server itself (loopback is trusted by
# the metrics endpoint, for example).
CLIENT = {"REMOTE_ADDR": "192.0.2.10"}
ADMIN_MODEL = re.compile(r"^django-admin/(\w+)/(\w+)/<path:object_id>/")


def args_for(world, route) -> dict:
    args = dict(world.ids)
    pattern = route.pattern
    help_route = "help" in pattern or "hilfe" in pattern
    args["request_id"] = world.ids["help_request_id" if help_route else "rights_request_id"]
    if "datenschutz" in pattern:
        args["fmt"] = "md"
    # Django admin: the first object of the page's model, the organisation app's index, an
    # unknown page.
    args.update(object_id=1, content_type_id=1, app_label="organisation", url="gibt-es-nicht/")
    model = ADMIN_MODEL.match(pattern)
    if model:
        first = apps.get_model(*model.groups()).objects.order_by("pk").first()
        args["object_id"] = first.pk
    return args


def outcome(response):
    """The status, with redirects told apart: to a login page or elsewhere."""
    if response.status_code in (301, 302):
        location = response["Location"]
        return LOGIN if ("/anmelden/" in location or "/login/" in location) else REDIRECT
    return response.status_code


def call(world, route, role):
    url = url_for(route, args_for(world, route))
    if route.api:
        client = world.browsers["anonymous"]  # bearer tokens, no session cookie
        headers = {**CLIENT, **world.headers[role]}
        if route.method in ("POST", "PATCH", "PUT"):
            return getattr(client, route.method.lower())(url, "{}",
                                                         content_type="application/json",
                                                         **headers)
        return getattr(client, route.method.lower())(url, **headers)
    rule = page_rule(route.pattern)
    client = world.browsers[role]
    if rule is not None and rule.method == "POST":
        return client.post(url, {}, **CLIENT)
    return client.get(url, **CLIENT)


def check(world, route, rule):
    wrong = []
    for role in ROLES:
        expected = rule.expected(role, route.api)
        got = outcome(call(world, route, role))
        allowed = expected if isinstance(expected, tuple) else (expected,)
        if got not in allowed:
            wrong.append(f"{role}: expected {expected}, got {got}")
    assert not wrong, f"{route.key}: " + "; ".join(wrong)


@pytest.mark.parametrize("route", page_routes(), ids=str)
def test_page(world, route):
    rule = page_rule(route.pattern)
    assert rule is not None, f"no rule for {route.pattern} (add it to tests/security/" \
                             "expectations.py: which roles may open it?)"
    check(world, route, rule)


@pytest.mark.parametrize("route", api_routes(), ids=str)
def test_api_operation(world, route):
    rule = api_rule(route.key)
    assert rule is not None, f"no rule for {route.key} (add it to tests/security/" \
                             "expectations.py: which roles may call it?)"
    check(world, route, rule)


def test_every_rule_names_a_route():
    """A rule for a route that no longer exists is dead weight (and hides a typo)."""
    from tests.security.expectations import API, PAGES

    pages = {r.pattern for r in page_routes()}
    apis = {r.key for r in api_routes()}
    assert not (set(PAGES) - pages), set(PAGES) - pages
    assert not (set(API) - apis), set(API) - apis
