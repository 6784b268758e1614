"""The rights request table (``rights_workflow``), walked: every kind × every state × every action
and decision. A move in the table succeeds through ``rights.defer``/``rights.decide``; every
other is refused with a DomainError and changes nothing. The derived facts (open, due, letter)
agree with the table."""

from datetime import date, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from beistand.accounts.roles import Role
from beistand.core.errors import Conflict, DomainError, InvalidInput
from beistand.register import retention, rights, rights_workflow
from beistand.register.models import RegisterPerson, RightsRequest

pytestmark = pytest.mark.django_db

Kind = RightsRequest.Kind
State = RightsRequest.State
REASON = "Geprüft und begründet entschieden."
ATTEMPTS = [("defer", State.DEFERRED),
            *(("decide", s) for s in State.values), ("decide", "stattgegeben")]


@pytest.fixture
def zks(org, make_user):
    return make_user("zks", roles=[Role.ZKS], unit=org["zks"])


@pytest.fixture
def dsb(org, make_user):
    return make_user("dsb", roles=[Role.DPO], unit=org["amt11"])


def _request(kind, state, *, due_on=None, defer_until=None) -> RightsRequest:
    received = timezone.localdate() - timedelta(days=3)
    with transaction.atomic():
        person = RegisterPerson.objects.create(last_name="Mustermann", first_names="Max",
                                               date_of_birth=date(1980, 4, 12), hazard_level=2)
        return RightsRequest.objects.create(
            person=person, kind=kind, state=state, received_on=received,
            due_on=due_on or rights.add_months(received), defer_until=defer_until,
            decision_reason="vorher")


def _attempt(user, req, action, target):
    if action == "defer":
        return rights.defer(user, req.pk, REASON, timezone.localdate() + timedelta(days=30))
    changes = {"last_name": "Musterfrau"} if (
        req.kind == Kind.RECTIFICATION and target == State.GRANTED) else None
    return rights.decide(user, req.pk, target, REASON, changes).request


def _snapshot(req):
    req = RightsRequest.objects.get(pk=req.pk)
    person = RegisterPerson.objects.get(pk=req.person_id)
    return (req.state, req.decision_reason, req.defer_until, req.decided_by_id,
            person.status, person.last_name)


def test_every_state_has_exactly_one_row_and_every_kind_a_way_out():
    assert set(rights_workflow.STATES) == set(State.values)
    for kind in Kind.values:
        assert any(m.state == State.OPEN and kind in m.kinds for m in rights_workflow.MOVES)
    for state, f in rights_workflow.STATES.items():
        leaving = [m for m in rights_workflow.MOVES if m.state == state]
        assert f.final == (not leaving)
        assert f.open == (not f.final) == (f.due_field is not None)
        assert not (f.decided and not f.final)
    assert set(rights_workflow.REQUEST_KINDS) | set(rights_workflow.NOTIFICATION_KINDS) == set(
        Kind.values)


@pytest.mark.parametrize("state", State.values)
@pytest.mark.parametrize("kind", Kind.values)
def test_every_move_of_every_kind(zks, kind, state):
    for action, target in ATTEMPTS:
        defer_until = timezone.localdate() + timedelta(days=5) if state == State.DEFERRED \
            else None
        req = _request(kind, state, defer_until=defer_until)
        allowed = any(m.state == state and m.action == action and m.next_state == target
                      and kind in m.kinds for m in rights_workflow.MOVES)
        if allowed:
            result = _attempt(zks, req, action, target)
            assert result.state == target
            assert RightsRequest.objects.get(pk=req.pk).state == target
        else:
            before = _snapshot(req)
            with pytest.raises((Conflict, InvalidInput)) as exc:
                _attempt(zks, req, action, target)
            assert exc.value.detail
            if isinstance(exc.value, InvalidInput):
                assert exc.value.field == "decision"
            assert _snapshot(req) == before


def test_refusals_say_why(zks):
    art15 = _request(Kind.ACCESS, State.OPEN)
    with pytest.raises(Conflict, match=r"nur bei der Information nach Art\. 14"):
        _attempt(zks, art15, "defer", State.DEFERRED)
    with pytest.raises(InvalidInput, match=r"„granted“ \(stattgegeben\) oder „refused“"):
        _attempt(zks, art15, "decide", State.DONE)
    art14 = _request(Kind.NOTIFICATION, State.OPEN)
    with pytest.raises(InvalidInput, match="versandt"):
        _attempt(zks, art14, "decide", State.GRANTED)
    done = _request(Kind.NOTIFICATION, State.DONE)
    with pytest.raises(Conflict, match="bereits abgeschlossen"):
        _attempt(zks, done, "decide", State.DONE)


def test_open_due_and_letter_agree_with_the_table(zks, dsb):
    today = timezone.localdate()
    rows = {}
    for kind in (Kind.NOTIFICATION, Kind.ACCESS):
        for state in State.values:
            for days in (-1, 0, 1):  # the date that counts: passed, today, still to come
                when = today + timedelta(days=days)
                # A deferred request's deadline has passed long ago: its re-check date counts.
                req = _request(kind, state,
                               due_on=today - timedelta(days=9) if state == State.DEFERRED
                               else when,
                               defer_until=when if state == State.DEFERRED else None)
                rows[req.pk] = req
    open_ids = {r.pk for r in rights.list_requests(zks, state="open")}
    due_ids = set(rights.due_rights_requests().values_list("pk", flat=True))
    for pk, req in rows.items():
        f = rights_workflow.facts(req.state)
        assert (pk in open_ids) == f.open
        assert (pk in due_ids) == rights_workflow.is_due(req, today)
        assert rights_workflow.is_due(req, today) == (
            f.due_field is not None and getattr(req, f.due_field) <= today)
    # The letter exists for the Art. 14 information and for every decided request.
    for req in rows.values():
        if rights_workflow.letter_exists(req):
            continue
        with pytest.raises(DomainError, match="erst nach der Entscheidung"):
            rights.letter_pdf(dsb, req.pk)
    assert {(r.kind, r.state) for r in rows.values() if rights_workflow.letter_exists(r)} == {
        *((Kind.NOTIFICATION, s) for s in State.values),
        (Kind.ACCESS, State.GRANTED), (Kind.ACCESS, State.REFUSED)}


@pytest.mark.parametrize("state", State.values)
@pytest.mark.parametrize("kind", Kind.values)
def test_the_purge_lapses_exactly_what_the_table_allows(kind, state):
    """Issue 17: the open Art. 14 information of an erased person closes itself; the purge's
    "lapse" moves exactly the rows the table has, and leaves every other request as it was."""
    defer_until = timezone.localdate() + timedelta(days=5) if state == State.DEFERRED else None
    req = _request(kind, state, defer_until=defer_until)
    allowed = any(m.state == state and m.action == "lapse" and kind in m.kinds
                  for m in rights_workflow.MOVES)
    before = RightsRequest.objects.get(pk=req.pk)
    assert retention.lapse_notifications(req.person_id) == (1 if allowed else 0)
    after = RightsRequest.objects.get(pk=req.pk)
    if allowed:
        assert after.state == State.LAPSED
        assert after.decision_reason.startswith("Entfallen: Die Person wurde am ")
    else:
        assert (after.state, after.decision_reason) == (before.state, before.decision_reason)
