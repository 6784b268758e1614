"""Issue 16, finding 8: a supervisor released their own report, and a reporter could name any
employee as victim (handing the release to that employee's supervisor and showing them the
report). The author never releases; a victim other than oneself is a plausible colleague (same
unit or at the incident's location) or confirmed by the reporter's supervisor."""

import pytest

from beistand.core.errors import AccessDenied, Conflict, InvalidInput, NotFound
from beistand.organisation.models import Employee
from beistand.reports import services
from beistand.reports.models import Status
from tests.reports.conftest import report_input

pytestmark = pytest.mark.django_db


def test_supervisor_cannot_release_own_report(cast, make_user):
    org = cast["org"]
    amt_head = make_user("amtsleitung", unit=org["amt32"], head_of=org["amt32"])
    melder = cast["melder"].employee
    # The supervisor reports an incident in which her subordinate was threatened.
    report = services.create_report(cast["chefin"], report_input(
        victim_ids=[cast["chefin"].employee.pk, melder.pk]), submit=True)
    assert "release" not in services.allowed_actions(cast["chefin"], report)
    assert report.pk not in services.queue(cast["chefin"]).values_list("pk", flat=True)
    for action, payload in (("release", {}), ("return", {"comment": "passt"})):
        with pytest.raises(AccessDenied, match="nicht die meldende Person"):
            services.transition(cast["chefin"], report.pk, action, payload)
    report.refresh_from_db()
    assert report.status == Status.SUBMITTED
    # Her own supervisor releases it.
    assert "release" in services.allowed_actions(amt_head, report)
    services.transition(amt_head, report.pk, "release")


def test_any_employee_cannot_be_named_victim(cast, make_user):
    org = cast["org"]
    make_user("leitung11", unit=org["amt11"], head_of=org["amt11"])
    stranger = Employee.objects.get(user=cast["fremd"])  # Amt 11, no room in the building
    melder = cast["melder"].employee
    with pytest.raises(InvalidInput, match="weder in Ihrer Organisationseinheit") as err:
        services.create_report(cast["melder"], report_input(
            victim_ids=[melder.pk, stranger.pk]), submit=True)
    assert err.value.field == "victims"
    # Not in the same unit, but working in the building of the incident: plausible.
    nearby = make_user("nachbar", unit=org["amt11"], room=org["rooms"][3]).employee
    report = services.create_report(cast["melder"], report_input(
        victim_ids=[melder.pk, nearby.pk]), submit=True)
    assert set(report.victims.values_list("pk", flat=True)) == {melder.pk, nearby.pk}
    # Field service: only the own unit is plausible.
    with pytest.raises(InvalidInput):
        services.create_report(cast["melder"], report_input(
            victim_ids=[nearby.pk], location_kind="field", address="Ringstraße 5"))


def test_supervisor_confirms_a_victim_the_reporter_could_not_name(cast, make_user):
    org = cast["org"]
    leitung11 = make_user("leitung11", unit=org["amt11"], head_of=org["amt11"])
    stranger = Employee.objects.get(user=cast["fremd"])
    report = services.create_report(cast["melder"], report_input(), submit=True)
    # Neither the reporter, nor the stranger's supervisor, nor the stranger confirms.
    for who in (cast["melder"], leitung11, cast["fremd"]):
        with pytest.raises((AccessDenied, NotFound)):  # the others do not even see it
            services.confirm_victim(who, report.pk, stranger.pk)
    services.confirm_victim(cast["chefin"], report.pk, stranger.pk)
    assert stranger.pk in report.victims.values_list("pk", flat=True)
    # Confirmed victims stay when the report is returned and resubmitted.
    services.transition(cast["chefin"], report.pk, "return", {"comment": "Uhrzeit?"})
    data = report_input(victim_ids=[cast["melder"].employee.pk, stranger.pk])
    services.update_report(cast["melder"], report.pk, data, submit=True)
    services.transition(cast["chefin"], report.pk, "release")
    with pytest.raises(Conflict):
        services.confirm_victim(cast["chefin"], report.pk, stranger.pk)


def test_confirmation_through_the_api(client, cast, bearer):
    stranger = Employee.objects.get(user=cast["fremd"])
    report = services.create_report(cast["melder"], report_input(), submit=True)
    url = f"/api/v1/reports/{report.pk}/victims"
    refused = client.post(url, {"employee_id": stranger.pk}, content_type="application/json",
                          **bearer(cast["melder"]))
    assert refused.status_code == 403
    assert refused["Content-Type"].startswith("application/problem+json")
    ok = client.post(url, {"employee_id": stranger.pk}, content_type="application/json",
                     **bearer(cast["chefin"]))
    assert ok.status_code == 200, ok.content
    assert stranger.pk in report.victims.values_list("pk", flat=True)
