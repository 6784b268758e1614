"""The OpenAPI document as a contract (issue 22): every operation has an explicit, unique id and
ASCII tags, and lists the problem responses (status and ``type``) derived from its code; the
problem types of the alarm, push, device and register routes are documented."""

import re
from pathlib import Path

import pytest

from beistand.api import api

pytestmark = pytest.mark.django_db

DOCS = Path(__file__).resolve().parents[2] / "docs"
CONTRACT_PATHS = re.compile(r"^/api/v1/(alarms|alarm-templates|trigger|sms|push|devices|register)")


@pytest.fixture(scope="module")
def schema():
    return api.get_openapi_schema()


def operations(schema):
    for path, item in schema["paths"].items():
        for method, op in item.items():
            yield path, method, op


def problems(op) -> set[tuple[int, str]]:
    found = set()
    for code, response in op["responses"].items():
        content = response.get("content", {}).get("application/problem+json")
        if content:
            enum = content["schema"]["allOf"][1]["properties"]["type"]["enum"]
            found |= {(int(code), t.rsplit("/", 1)[1]) for t in enum}
    return found


def test_every_operation_has_an_explicit_unique_id_and_ascii_tags(schema):
    missing = [op.view_func.__qualname__ for op in api.operations().values()
               if not op.operation_id]
    assert missing == [], f"operations without an explicit operation_id: {missing}"
    ids = [op["operationId"] for _, _, op in operations(schema)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for _, _, op in operations(schema):
        assert re.fullmatch(r"[a-z][a-z0-9_]*", op["operationId"]), op["operationId"]
        assert all(tag.isascii() for tag in op.get("tags", [])), op["tags"]


def test_error_sets_are_per_operation_and_derived_from_the_code(schema):
    by_id = {op["operationId"]: op for _, _, op in operations(schema)}
    assert (500, "server-error") in problems(by_id["system_health"])
    assert not any(s < 500 for s, _ in problems(by_id["system_health"]))
    assert (409, "conflict") in problems(by_id["alarm_respond"])       # an ended alarm
    assert (409, "conflict") in problems(by_id["alarm_cancel"])        # after the countdown
    assert (503, "unavailable") in problems(by_id["alarm_trigger"])    # the fast path
    assert (429, "rate-limited") in problems(by_id["device_trigger"])  # the device's limit
    assert (404, "not-found") in problems(by_id["device_trigger"])     # unknown token
    assert (401, "not-authenticated") in problems(by_id["sms_inbound"])  # the signature
    assert (429, "rate-limited") in problems(by_id["register_lookup_create"])
    assert (401, "not-authenticated") not in problems(by_id["system_health"])
    assert (409, "conflict") not in problems(by_id["alarms_active"])
    # Not one generic set: the operations differ.
    assert len({frozenset(problems(op)) for op in by_id.values()}) > 10


def test_problem_types_of_the_alarm_routes_are_documented(schema):
    text = (DOCS / "alarm-protocol.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"/api/v1/problems/([a-z-]+)", text))
    for path, _, op in operations(schema):
        if CONTRACT_PATHS.match(path):
            undocumented = {t for _, t in problems(op)} - documented
            assert not undocumented, (op["operationId"], undocumented)
