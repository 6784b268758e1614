"""Which alarm plan an alarm follows: the room's, else the nearest unit's up the unit tree, else
the site's, else the default plan (docs/alarms.md, "Alarmpläne")."""

import pytest
from django.db import transaction

from beistand.accounts.roles import DERIVED_ROLES, PRIVILEGED_ROLES
from beistand.alarms.models import AlarmPlan
from beistand.alarms.plans import resolve_plan
from beistand.organisation.models import Building, Floor, Room, Site

pytestmark = pytest.mark.django_db


@pytest.fixture
def plans(org, alarm_defaults):
    with transaction.atomic():
        return _plans(org)


def _plans(org):
    other_site = Site.objects.create(name="Bürgeramt Nord", street="Weg 2", postal_code="12345",
                                     city="Teststadt")
    other_floor = Floor.objects.create(
        building=Building.objects.create(site=other_site, name="Nord"), level=0)
    other_room = Room.objects.create(floor=other_floor, number="0.01")
    default = AlarmPlan.objects.get(scope="default")
    return {
        "default": default,
        "site": AlarmPlan.objects.create(name="Rathaus", scope="site", site=org["site"]),
        "amt32": AlarmPlan.objects.create(name="Ordnungsamt", scope="unit", unit=org["amt32"]),
        "amt11": AlarmPlan.objects.create(name="Personal", scope="unit", unit=org["amt11"]),
        "room": AlarmPlan.objects.create(name="Kasse", scope="room", room=org["rooms"][0]),
        "other_room": other_room,
    }


def test_the_most_specific_plan_wins(org, plans):
    rooms = org["rooms"]
    # The room's own plan beats the unit's and the site's.
    assert resolve_plan(rooms[0], org["abt"]) == plans["room"]
    # No room plan: the nearest unit up the tree (32/1 has none, its parent 32 has one).
    assert resolve_plan(rooms[1], org["abt"]) == plans["amt32"]
    assert resolve_plan(rooms[1], org["amt11"]) == plans["amt11"]
    # No unit plan up the tree (ZKS -> Dezernat I): the site of the room.
    assert resolve_plan(rooms[1], org["zks"]) == plans["site"]
    # A room on a site without a plan and a unit without one: the default plan.
    assert resolve_plan(plans["other_room"], org["zks"]) == plans["default"]
    # No room at all (a phone without a desk): unit, else default - never another site's plan.
    assert resolve_plan(None, org["abt"]) == plans["amt32"]
    assert resolve_plan(None, None) == plans["default"]


def test_a_plan_of_an_unrelated_unit_or_room_never_applies(org, plans):
    with transaction.atomic():
        AlarmPlan.objects.filter(pk__in=[plans["amt32"].pk, plans["site"].pk]).delete()
    # amt11 has a plan, but 32/1 is not below it; room 0's plan is not room 1's.
    assert resolve_plan(org["rooms"][1], org["abt"]) == plans["default"]


def test_no_derived_role_is_privileged():
    # The second-factor check of every token use asks only for privileged *grants*; that holds
    # only while no derived role (reporter, supervisor) is privileged.
    assert not DERIVED_ROLES & PRIVILEGED_ROLES
