"""Attack review of issue 16, finding 8: "present at the location" was the building of the room
typed into the report. A reporter picked a room in any employee's building, and that employee
counted as a plausible victim - the release went to their supervisor, who saw the report.

Now presence comes from the organisation's master data the reporter cannot choose: a victim
other than oneself is in the reporter's unit or - for an incident in the office - works in the
reporter's own building; anyone else is confirmed by the reporter's supervisor."""

import pytest
from django.db import transaction

from beistand.core.errors import InvalidInput
from beistand.organisation.models import Building, Floor, Room
from beistand.reports import services
from tests.reports.conftest import cast, report_input  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def annex(cast):  # noqa: F811
    """A second building of the site with a room, and an employee of another unit working there."""
    with transaction.atomic():
        building = Building.objects.create(site=cast["org"]["site"], name="Nebengebäude")
        room = Room.objects.create(floor=Floor.objects.create(building=building, level=2),
                                   number="2.17", x=0.0, y=0.0)
    return room


def test_reproduction_the_typed_room_does_not_make_anyone_plausible(cast, annex,  # noqa: F811
                                                                    make_user):
    """As recorded: the reporter types a room in the annex, where an employee of Amt 11 works,
    and names that employee as victim. It was accepted."""
    org = cast["org"]
    target = make_user("zielperson", unit=org["amt11"], room=annex).employee
    melder = cast["melder"].employee
    with pytest.raises(InvalidInput, match="weder in Ihrer Organisationseinheit") as err:
        services.create_report(cast["melder"], report_input(
            victim_ids=[melder.pk, target.pk], location_kind="office", room_id=annex.pk),
            submit=True)
    assert err.value.field == "victims"


def test_colleagues_of_the_reporters_building_and_unit_stay_plausible(cast, annex,  # noqa: F811
                                                                      make_user):
    org = cast["org"]
    melder = cast["melder"].employee
    # Another unit, but in the reporter's own building: plausible for an office incident -
    # whichever room was typed, even one in the annex.
    neighbour = make_user("nachbar", unit=org["amt11"], room=org["rooms"][3]).employee
    report = services.create_report(cast["melder"], report_input(
        victim_ids=[melder.pk, neighbour.pk], location_kind="office", room_id=annex.pk),
        submit=True)
    assert set(report.victims.values_list("pk", flat=True)) == {melder.pk, neighbour.pk}
    # The own unit, working in the annex: plausible wherever the incident was.
    teammate = make_user("team", unit=org["abt"], room=annex).employee
    report = services.create_report(cast["melder"], report_input(
        victim_ids=[teammate.pk], location_kind="field", address="Ringstraße 5"), submit=True)
    assert list(report.victims.values_list("pk", flat=True)) == [teammate.pk]


def test_the_supervisor_still_confirms_someone_from_elsewhere(cast, annex, make_user):  # noqa: F811
    org = cast["org"]
    target = make_user("zielperson", unit=org["amt11"], room=annex).employee
    report = services.create_report(cast["melder"], report_input(room_id=annex.pk,
                                                                 location_kind="office"),
                                    submit=True)
    services.confirm_victim(cast["chefin"], report.pk, target.pk)
    assert target.pk in report.victims.values_list("pk", flat=True)
