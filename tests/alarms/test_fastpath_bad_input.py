"""The trigger's own path answers bad input like the API: problem details, nothing stored."""

import httpx
import pytest

from beistand.accounts.services import create_device_token
from beistand.alarms.models import Alarm

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin(make_user):
    from beistand.accounts.roles import Role

    return make_user("it-admin", roles=[Role.ADMIN])


def test_nul_and_bad_bodies_are_refused(server, people, fast_plan, token, admin):
    clear, _ = create_device_token(admin, "Taster", "button_hub",
                                   room=people["neighbour"].employee.room)
    t = token(people["sender"])
    cases = [
        ("post", f"/api/v1/trigger/{clear}?template=bei%00stand", None, 400),
        ("post", "/api/v1/alarms", '{"template": "bei\\u0000stand"}', 400),
        ("post", "/api/v1/alarms", "[1, 2]", 400),
        ("post", "/api/v1/alarms", "{not json", 400),
        ("post", "/api/v1/alarms", '{"template": "beistand", "extra": 1}', 400),
    ]
    for method, path, body, status in cases:
        headers = {"Content-Type": "application/json"}
        if "/alarms" in path:
            headers["Authorization"] = f"Bearer {t}"
        resp = httpx.request(method.upper(), f"{server.http}{path}", content=body,
                             headers=headers, timeout=10)
        assert resp.status_code == status, (path, body, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert resp.json()["detail"]
    assert not Alarm.objects.exists()
