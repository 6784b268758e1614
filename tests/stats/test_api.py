"""GET /api/v1/stats/…: roles, grouping, suppression through the API, bad input as problems."""

import json
from datetime import date

import pytest
from django.utils import timezone

from beistand.accounts.roles import Role
from tests.stats.conftest import at, make_incident

pytestmark = pytest.mark.django_db

URL = "/api/v1/stats/incidents"
RANGE = {"from": "2025-01-01", "to": "2025-12-31"}


@pytest.fixture
def crafted(staff):
    """2025: Amt 32 has 7 level-2 incidents in March and 3 level-3 ones in March;
    Amt 51 has 6 level-2 in April and the only level-3 case in April."""
    o, j = staff["ordnung"], staff["jugend"]
    for day in range(1, 8):
        make_incident(o, at(2025, 3, day), level=2)
    for day in range(10, 13):
        make_incident(o, at(2025, 3, day), level=3, offences=("weapon",))
    for day in range(1, 7):
        make_incident(j, at(2025, 4, day), level=2)
    make_incident(j, at(2025, 4, 20), level=3, offences=("weapon",))
    return staff


def get(client, headers, **params):
    return client.get(URL, params, **headers)


@pytest.mark.parametrize("role", [Role.STATISTICS, Role.ZKS, Role.DPO, Role.ADMIN])
def test_reader_roles_get_counts(client, bearer, readers, crafted, role):
    response = get(client, bearer(readers[role]), group_by="month", **RANGE)
    assert response.status_code == 200, response.content
    rows = response.json()["rows"]
    assert rows == [{"month": "2025-03", "count": 10}, {"month": "2025-04", "count": 7}]
    assert response.json()["suppressed"] == 0


@pytest.mark.parametrize("who", [Role.QUERIER, Role.PERSONNEL, Role.SECURITY, "reporter"])
def test_other_roles_are_forbidden(client, bearer, readers, crafted, who):
    for path in (URL, "/api/v1/stats/key-figures", "/api/v1/stats/lead-times",
                 "/api/v1/stats/annual-report/2025.pdf"):
        response = client.get(path, **bearer(readers[who]))
        assert response.status_code == 403, (path, response.content)
        assert response["Content-Type"] == "application/problem+json"
        assert "Berechtigung" in response.json()["title"]


def test_anonymous_is_401(client):
    assert client.get(URL).status_code == 401


def test_month_by_level_with_primary_and_secondary_suppression(client, bearer, readers,
                                                               crafted):
    body = get(client, bearer(readers[Role.STATISTICS]), group_by="month,level",
               **RANGE).json()
    cells = {(r["month"], r["level"]): r["count"] for r in body["rows"]}
    # March: 7 + 3 (3 < 5); April: 6 + 1. The level-3 column (3 + 1 = 4) is small itself, but
    # each month's total (10, 7) is published, so each month needs a second withheld cell.
    assert cells[("2025-03", 3)] == "<5"
    assert cells[("2025-04", 3)] == "<5"
    assert cells[("2025-03", 2)] == "x"
    assert cells[("2025-04", 2)] == "x"
    assert body["suppressed"] == 4
    assert all(isinstance(c, str) for c in cells.values())  # nothing recoverable by subtraction


def test_unit_at_depth_and_filters_combine(client, bearer, readers, crafted):
    h = bearer(readers[Role.ZKS])
    body = get(client, h, group_by="unit", unit_depth="2", **RANGE).json()
    assert {r["unit"]: r["count"] for r in body["rows"]} == {"32": 10, "51": 7}
    body = get(client, h, group_by="unit", unit_depth="1", **RANGE).json()
    assert body["rows"] == [{"unit": "I", "count": 17}]
    body = get(client, h, group_by="level", unit="51", level="2,3", **RANGE).json()
    # 6 and 1: the 1 is withheld, and the total 7 would reveal it, so the 6 goes too.
    assert body["rows"] == [{"level": 2, "count": "x"}, {"level": 3, "count": "<5"}]
    body = get(client, h, group_by="offence", offence="weapon", **RANGE).json()
    assert body["rows"] == [{"offence": "weapon", "count": "<5"}] or body["rows"] == [
        {"offence": "weapon", "count": 4}] or body["rows"][0]["count"] == "<5"


def test_key_figures_and_lead_times(client, bearer, readers, staff):
    o = staff["ordnung"]
    for i in range(6):
        make_incident(o, at(2025, 5, i + 1), steps=(("submitted", 1), ("released", 1 + 10 * i),
                                                     ("complaint_filed", 100)),
                      police=True, injuries="Prellung", incapacity=i + 1)
    h = bearer(readers[Role.STATISTICS])
    body = client.get("/api/v1/stats/key-figures", RANGE, **h).json()
    assert body["figures"]["incidents"] == 6
    assert body["figures"]["police"] == 6
    assert body["figures"]["incapacity_days"] == 21
    steps = {s["step"]: s for s in client.get("/api/v1/stats/lead-times", RANGE,
                                               **h).json()["steps"]}
    release = steps["release"]
    # durations 0, 10, 20, 30, 40, 50 h: median 25, p90 (nearest rank 6) 50, within 24 h: 3/6;
    # published on the coarse grid (6 h below two days, half days below a week): 24 and 48.
    assert release["count"] == 6
    assert release["median_hours"] == 24.0
    assert release["p90_hours"] == 48.0
    assert release["within_deadline"] == "50 %"
    # No publication yet: "<5" like any count below k (a 0 beside "<5" would tell which
    # narrow filters hold a record).
    assert steps["publication"]["count"] == "<5"


BAD = [
    ({"group_by": "weekday"}, "group_by", "Unbekannte Gruppierung"),
    ({"group_by": "month,month"}, "group_by", "nur einmal"),
    ({"group_by": "month,year"}, "group_by", "Nur eine Zeiteinheit"),
    ({"group_by": "level,unit,site,police"}, "group_by", "Höchstens 3"),
    ({"level": "4"}, "level", "Gefährdungsstufe"),
    ({"offence": "zauberei"}, "offence", "Unbekanntes Delikt"),
    ({"unit": "99/9"}, "unit", "Organisationseinheit"),
    ({"site": "abc"}, "site", "ganze Zahl"),
    ({"site": "999999"}, "site", "Unbekannter Standort"),
    ({"location": "moon"}, "location", "Unbekannter Wert"),
    ({"perpetrator": "maybe"}, "perpetrator", "Unbekannter Wert"),
    ({"police": "vielleicht"}, "police", "Unbekannter Wert"),
    ({"unit_depth": "9"}, "unit_depth", "zwischen 1 und 5"),
    ({"from": "2025-13-01"}, "from", "kein gültiges Datum"),
    ({"from": "2025-06-01", "to": "2025-01-01"}, "from", "nach dessen Ende"),
    ({"from": "2010-01-01", "to": "2025-01-01"}, "to", "höchstens 10 Jahre"),
    ({"name": "Meier"}, "name", "Unbekannter Parameter"),
]


@pytest.mark.parametrize("params, field, text", BAD)
def test_bad_input_is_a_400_problem(client, bearer, readers, params, field, text):
    response = get(client, bearer(readers[Role.STATISTICS]), **params)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = json.loads(response.content)
    assert text in problem["detail"], problem
    assert problem["errors"][0]["field"] == field


def test_exactly_ten_years_is_refused_just_under_is_fine(client, bearer, readers):
    h = bearer(readers[Role.STATISTICS])
    assert get(client, h, **{"from": "2015-01-01", "to": "2024-12-31"}).status_code == 200
    assert get(client, h, **{"from": "2015-01-01", "to": "2025-01-01"}).status_code == 400


def test_default_period_is_three_calendar_years(client, bearer, readers):
    body = get(client, bearer(readers[Role.STATISTICS])).json()
    today = timezone.localdate()
    assert body["from"] == date(today.year - 2, 1, 1).isoformat()
    # Whole months only (issue 16, finding 3): up to the end of the current month.
    from beistand.stats.filters import month_end

    assert body["to"] == month_end(today).isoformat()
