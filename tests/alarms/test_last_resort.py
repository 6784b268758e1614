"""Issue 19, item 2: every plan ends in a last-resort tier (security service / selected people
with SMS to the offline, or the external control room); saving a plan without one is refused
with a German message; the default plan and the demo plan have one. And item 3's coverage
level (green / yellow / red) from the rule of "Wer bekommt meinen Alarm jetzt?"."""

import pytest
from django.db import transaction
from django.forms import inlineformset_factory

from beistand.alarms import coverage, plans
from beistand.alarms.admin import AlarmTierForm, AlarmTierFormSet
from beistand.alarms.models import AlarmPlan, AlarmTier

pytestmark = pytest.mark.django_db

TierFormSet = inlineformset_factory(AlarmPlan, AlarmTier, form=AlarmTierForm,
                                    formset=AlarmTierFormSet, extra=0)


def formset_data(*tiers):
    data = {"tiers-TOTAL_FORMS": str(len(tiers)), "tiers-INITIAL_FORMS": "0",
            "tiers-MIN_NUM_FORMS": "0", "tiers-MAX_NUM_FORMS": "1000"}
    for i, tier in enumerate(tiers):
        base = {"order": i + 1, "radius_m": 15, "timeout_s": 20, "acks_needed": 1}
        for key, value in {**base, **tier}.items():
            if value is True:
                value = "on"
            if value is not False:
                data[f"tiers-{i}-{key}"] = str(value)
    return data


@pytest.fixture
def plan(alarm_defaults):
    with transaction.atomic():
        plan = AlarmPlan.objects.get(scope="default")
        plan.tiers.all().delete()
    return plan


@pytest.mark.parametrize("tiers", [
    ({"kind": "neighbours"}, {"kind": "building", "sms_when_offline": True}),
    ({"kind": "neighbours", "sms_when_offline": True}, {"kind": "security"}),
    ({"kind": "security", "sms_when_offline": True}, {"kind": "floor"}),
    (),
])
def test_a_plan_without_a_last_resort_is_refused_in_german(plan, tiers):
    formset = TierFormSet(formset_data(*tiers), instance=plan, prefix="tiers")
    assert not formset.is_valid()
    message = " ".join(formset.non_form_errors())
    assert "letzte Stufe" in message and "SMS" in message and "Leitstelle" in message


@pytest.mark.parametrize("last", [
    {"kind": "security", "sms_when_offline": True},
    {"kind": "security", "sms_always": True},
    {"kind": "external", "external_phone": "0221 110"},
    {"kind": "external", "external_email": "leitstelle@example.org"},
])
def test_a_plan_ending_in_a_last_resort_is_saved(plan, last):
    formset = TierFormSet(formset_data({"kind": "neighbours"}, last), instance=plan,
                          prefix="tiers")
    assert formset.is_valid(), (formset.errors, formset.non_form_errors())


def test_the_default_plan_and_the_demo_plan_end_in_a_last_resort(alarm_defaults):
    from beistand.demo.services import load_demo

    assert plans.plan_problem(AlarmPlan.objects.get(scope="default")) == ""
    load_demo()
    demo = AlarmPlan.objects.get(site__name="Stadthaus")
    assert plans.plan_problem(demo) == ""
    last = demo.tiers.order_by("order").last()
    assert last.kind == "external" and last.external_phone


def tier(order, online, mobile=False, external=None, kind_label="x"):
    return {"order": order, "online": online, "kind_label": kind_label, "external": external,
            "receivers": [{"mobile": mobile}]}


def test_coverage_levels():
    green = coverage.level([tier(1, 2), tier(2, 0)])
    assert green["level"] == "green" and "2 Personen" in green["level_text"]
    yellow = coverage.level([tier(1, 0), tier(2, 1, kind_label="Sicherheitsdienst")])
    assert yellow["level"] == "yellow" and "Stufe 2 (Sicherheitsdienst)" in yellow["level_text"]
    red_sms = coverage.level([tier(1, 0), tier(2, 0, mobile=True)])
    assert red_sms["level"] == "red" and "per SMS" in red_sms["level_text"]
    assert "110" in red_sms["level_text"]
    red = coverage.level([])
    assert red["level"] == "red" and "an niemanden" in red["level_text"]
