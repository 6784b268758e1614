"""Supervisor derivation over the unit tree: explicit supervisor first, then unit heads upwards."""

import pytest
from django.db import transaction

from beistand.organisation.models import Employee
from beistand.organisation.services import direct_reports, direct_supervisor, is_supervisor

pytestmark = pytest.mark.django_db


def emp(pn, unit, supervisor=None, head_of=None, active=True):
    with transaction.atomic():
        e = Employee.objects.create(personnel_number=pn, last_name=pn, first_name="T",
                                    unit=unit, supervisor=supervisor, active=active)
        if head_of is not None:
            head_of.head = e
            head_of.save()
    return e


@pytest.fixture
def tree(org):
    """Dezernat I (head dez) > Amt 32 (head amt) > 32/1 (no head) ; Amt 11 (no head)."""
    dez = emp("dez", org["dez"], head_of=org["dez"])
    amt = emp("amt", org["amt32"], head_of=org["amt32"])
    return {**org, "dez_head": dez, "amt_head": amt}


def test_member_of_headed_unit_reports_to_its_head(tree):
    clerk = emp("clerk", tree["amt32"])
    assert direct_supervisor(clerk) == tree["amt_head"]


def test_member_of_headless_unit_reports_to_the_head_above(tree):
    field = emp("field", tree["abt"])
    assert direct_supervisor(field) == tree["amt_head"]
    personal = emp("personal", tree["amt11"])
    assert direct_supervisor(personal) == tree["dez_head"]


def test_unit_head_reports_to_the_head_above_not_to_themself(tree):
    assert direct_supervisor(tree["amt_head"]) == tree["dez_head"]
    assert direct_supervisor(tree["dez_head"]) is None


def test_explicit_supervisor_wins_over_the_tree(tree):
    lead = emp("lead", tree["abt"])
    field = emp("field", tree["abt"], supervisor=lead)
    assert direct_supervisor(field) == lead
    assert direct_reports(lead) == [field]
    assert field not in direct_reports(tree["amt_head"])


def test_direct_reports_follow_the_tree(tree):
    clerk = emp("clerk", tree["amt32"])
    field = emp("field", tree["abt"])
    sub_head = emp("subhead", tree["abt"], head_of=tree["abt"])
    # 32/1 now has a head: field reports to it; the sub-head reports to the Amt head.
    assert direct_supervisor(field) == sub_head
    assert direct_reports(tree["amt_head"]) == sorted([clerk, sub_head], key=lambda e: e.last_name)
    assert direct_reports(sub_head) == [field]
    personal = emp("personal", tree["amt11"])
    assert direct_reports(tree["dez_head"]) == [tree["amt_head"], personal]


def test_inactive_staff_are_no_reports_and_is_supervisor(tree):
    emp("gone", tree["abt"], active=False)
    assert direct_reports(tree["amt_head"]) == []
    assert is_supervisor(tree["amt_head"]) is True
    clerk = emp("clerk", tree["amt32"])
    assert is_supervisor(clerk) is False
    emp("report", tree["amt32"], supervisor=clerk)
    assert is_supervisor(clerk) is True
