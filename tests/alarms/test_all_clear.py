"""Who may call an alarm off (all-clear / cancel), over every role × every alarm state ×
resolve/cancel, on the services every entry point calls; then the same rule over HTTP and the
WebSocket of a real server, and the all-clear naming who gave it.

The rule, written out here independently of the code: the security service always; an Amok or
building-wide alarm otherwise only the role the plan names (``AlarmPlan.all_clear_role``);
any other alarm the sender and a helper who said "Ich komme". Cancelling is the sender's, and
only during the countdown. A refusal is 403 with a German reason and changes nothing."""

import asyncio
import itertools

import pytest
from django.db import transaction

from beistand.accounts.roles import Role
from beistand.alarms import services, store
from beistand.alarms.lifecycle import State
from beistand.alarms.models import Alarm, AlarmPlan, AlarmRecipient, AlarmTimeline
from beistand.core.errors import AccessDenied, Conflict, NotFound
from tests.alarms.conftest import Receiver
from tests.alarms.helpers import post, wait_for

# (template, role the plan names for Amok/building-wide all-clears)
VARIANTS = [("beistand", ""), ("amok", ""), ("amok", Role.PERSONNEL)]
# Those on the alarm, then one person per role who is not on it.
RELATIONS = ["sender", "coming", "cannot", "silent"]
ROLES = [r.value for r in Role if r != Role.REPORTER] + ["reporter"]
ACTORS = RELATIONS + [f"role:{r}" for r in ROLES]


def on_alarm(actor, alarm, user) -> bool:
    """The sender, a receiver the alarm reached (none yet in the countdown), the security
    service (it joins every alarm)."""
    return (actor == "sender" or actor == f"role:{Role.SECURITY.value}"
            or AlarmRecipient.objects.filter(alarm=alarm, inbox__user=user).exists())


@pytest.fixture
def cast(people, make_user, org, settings):
    settings.ALARM_USER_MAX_PER_MINUTE = 0  # many alarms of one sender, one after the other
    users = {"sender": people["sender"], "coming": people["neighbour"], "cannot": people["far"],
             "silent": make_user("silent", room=org["rooms"][3])}
    for role in ROLES:
        if role == Role.SUPERVISOR:  # derived: the head of the sender's unit
            user = make_user("chef", head_of=org["abt"], room=org["rooms"][2])
        elif role == "reporter":
            user = make_user("bystander", room=org["rooms"][2])
        else:
            user = make_user(f"r-{role}", roles=[role], room=org["rooms"][2],
                             expires_at=_expiry() if role == Role.QUERIER else None)
        users[f"role:{role}"] = user
    users["role:security"] = people["security"]
    return users


def _expiry():
    from datetime import timedelta

    from django.utils import timezone
    return timezone.now() + timedelta(days=30)


def make_alarm(cast, template: str, state: State) -> Alarm:
    """An alarm of ``template`` in ``state``: receivers "coming" (said Ich komme once the
    alarm is out), "cannot" (said Kann nicht) and "silent" (never answered)."""
    sender = cast["sender"]
    alarm = services.trigger(user=sender, template=template,
                             countdown_s=10 if state in (State.COUNTDOWN, State.CANCELLED)
                             else 0).alarm
    if state == State.CANCELLED:
        services.cancel(sender, alarm.pk)
    if state in (State.TRIGGERED, State.ACKNOWLEDGED, State.RESOLVED):
        with transaction.atomic():
            for name in ("coming", "cannot", "silent"):
                inbox = store.inbox_for_user(cast[name])
                AlarmRecipient.objects.get_or_create(alarm=alarm, inbox=inbox,
                                                     defaults={"label": name, "tier": 1})
        services.respond(cast["cannot"], alarm.pk, "cannot")
        if state != State.TRIGGERED and alarm.template.come:
            # Amok (come: false) knows no "Ich komme" (issue 22), so it is never acknowledged.
            services.respond(cast["coming"], alarm.pk, "coming")
        if state == State.RESOLVED:
            services.resolve(cast["role:security"], alarm.pk, "Lage geklärt")
    alarm.refresh_from_db()
    assert alarm.state == state
    return alarm


def may_resolve(template: str, plan_role: str, state: State, actor: str) -> bool:
    if actor == "role:security":
        return True
    if template == "amok":
        return bool(plan_role) and actor == f"role:{plan_role}"
    return actor == "sender" or (actor == "coming" and state in (State.ACKNOWLEDGED,
                                                                 State.RESOLVED))


def snapshot(alarm_id):
    a = Alarm.objects.get(pk=alarm_id)
    return (a.state, a.resolved_at, a.resolved_by_id, a.resolve_note, a.next_deadline,
            AlarmTimeline.objects.filter(alarm_id=alarm_id).count())


@pytest.mark.django_db
@pytest.mark.parametrize(("variant", "state"),
                         [(v, st) for v, st in itertools.product(VARIANTS, State)
                          if not (v[0] == "amok" and st == State.ACKNOWLEDGED)],
                         ids=lambda v: "-".join(filter(None, v)) if isinstance(v, tuple)
                         else str(v))
def test_resolve_and_cancel_matrix(cast, variant, state):
    template, plan_role = variant
    AlarmPlan.objects.filter(scope="default").update(all_clear_role=plan_role)
    for actor, action in itertools.product(ACTORS, ("resolve", "cancel")):
        alarm = make_alarm(cast, template, state)
        user = cast[actor]
        before = snapshot(alarm.pk)
        where = (template, plan_role, state, actor, action)
        if action == "resolve":
            if may_resolve(template, plan_role, state, actor):
                result = services.resolve(user, alarm.pk, "erledigt")
                if state in (State.RESOLVED, State.CANCELLED):  # already over: unchanged
                    assert snapshot(alarm.pk) == before, where
                else:
                    assert result.state == State.RESOLVED, where
                    alarm.refresh_from_db()
                    assert alarm.resolved_by_id == user.pk, where
                    last = AlarmTimeline.objects.filter(alarm=alarm).last()
                    assert last.kind == "resolved" and last.actor, where
                    assert last.text == f"Entwarnung durch {last.actor}: erledigt", where
                continue
            if not on_alarm(actor, alarm, user):
                # Not on it: the same answer as for an unknown id (issue 16, finding 13).
                with pytest.raises(NotFound) as refused:
                    services.resolve(user, alarm.pk, "erledigt")
                assert refused.value.detail == "Diesen Alarm gibt es nicht.", where
                assert snapshot(alarm.pk) == before, where
                continue
            with pytest.raises(AccessDenied) as refused:
                services.resolve(user, alarm.pk, "erledigt")
            assert refused.value.status == 403, where
            assert ("Sicherheitsdienst" in refused.value.detail
                    and "beenden" in refused.value.detail
                    if template == "amok" else
                    "Entwarnung geben können nur" in refused.value.detail), where
        else:
            if actor == "sender" and state in (State.COUNTDOWN, State.CANCELLED):
                assert services.cancel(user, alarm.pk).state == State.CANCELLED, where
                if state == State.CANCELLED:
                    assert snapshot(alarm.pk) == before, where
                continue
            expected = (Conflict if actor == "sender"
                        else AccessDenied if on_alarm(actor, alarm, user) else NotFound)
            with pytest.raises(expected) as refused:
                services.cancel(user, alarm.pk)
            assert refused.value.detail, where
        assert snapshot(alarm.pk) == before, where


@pytest.mark.django_db
def test_plan_role_is_named_in_the_refusal(cast):
    AlarmPlan.objects.filter(scope="default").update(all_clear_role=Role.PERSONNEL)
    alarm = make_alarm(cast, "amok", State.TRIGGERED)
    with pytest.raises(AccessDenied, match="Sicherheitsdienst oder die Rolle „Personal"):
        services.resolve(cast["sender"], alarm.pk)


@pytest.mark.django_db
def test_a_long_name_and_a_long_note_never_fail_the_all_clear(cast):
    """Names (100 + 100 characters) and the note (500) are each within bounds; the timeline
    line that joins them must not overflow its column (PostgreSQL refuses, SQLite would not)."""
    guard = cast["role:security"]
    with transaction.atomic():
        guard.employee.first_name, guard.employee.last_name = "G" * 100, "W" * 100
        guard.employee.save()
    alarm = make_alarm(cast, "beistand", State.ACKNOWLEDGED)
    services.resolve(guard, alarm.pk, "N" * 600)
    alarm.refresh_from_db()
    assert alarm.state == State.RESOLVED and alarm.resolve_note == "N" * 500
    line = alarm.timeline.get(kind="resolved")
    assert len(line.text) <= 500 and line.text.startswith("Entwarnung durch GGG")
    assert line.text.endswith("…") and len(line.actor) <= 200


# --- Over HTTP and the WebSocket of the real server ---------------------------------------------

def state_of(alarm_id):
    return Alarm.objects.get(pk=alarm_id).state


@pytest.mark.django_db(transaction=True)
def test_http_and_websocket_refuse_and_the_sender_learns_who_gave_the_all_clear(
        server, cast, token):
    alarm = make_alarm(cast, "beistand", State.ACKNOWLEDGED)
    tokens = {name: token(cast[name]) for name in ("sender", "coming", "cannot", "silent",
                                                   "role:reporter")}
    path = f"/api/v1/alarms/{alarm.pk}/resolve"
    # Whether the server's engine delivered the first tier (the bystander among them) before
    # "Ich komme" stopped the plan is a race; once acknowledged, who is on the alarm is fixed.
    reporter_on_alarm = AlarmRecipient.objects.filter(
        alarm=alarm, inbox__user=cast["role:reporter"]).exists()

    async def scenario():
        async with Receiver(server.ws, tokens["sender"]) as snd, \
                Receiver(server.ws, tokens["cannot"]) as cannot:
            for name in ("cannot", "silent", "role:reporter"):
                resp = await asyncio.to_thread(post, server, path, tokens[name], {"note": "x"})
                assert resp.headers["content-type"].startswith("application/problem+json")
                if name == "role:reporter" and not reporter_on_alarm:
                    # Not on the alarm: the answer for an unknown id (issue 16, finding 13).
                    assert resp.status_code == 404, (name, resp.text)
                    continue
                assert resp.status_code == 403, (name, resp.text)
                assert "Entwarnung geben können nur" in resp.json()["detail"]
            await cannot.send({"type": "resolve", "alarm_id": alarm.pk, "request_id": "r1"})
            err = await cannot.control(type="error")
            assert err["code"] == "forbidden" and err["request_id"] == "r1", err
            assert "Entwarnung geben können nur" in err["detail"]
            assert await asyncio.to_thread(state_of, alarm.pk) == State.ACKNOWLEDGED
            # The helper who is coming may; the sender is told who it was.
            resp = await asyncio.to_thread(post, server, path, tokens["coming"],
                                           {"note": "Kunde ist gegangen"})
            assert resp.status_code == 200 and resp.json()["state"] == "resolved", resp.text
            done = await snd.next_event(type="alarm_update", kind="resolved",
                                        alarm_id=alarm.pk)
            assert done["by"] == "Test Neighbour" and done["note"] == "Kunde ist gegangen"

    asyncio.run(scenario())
    last = AlarmTimeline.objects.filter(alarm_id=alarm.pk).last()
    assert last.text == "Entwarnung durch Test Neighbour: Kunde ist gegangen"


@pytest.mark.django_db(transaction=True)
def test_amok_all_clear_over_websocket_only_by_the_security_service(server, cast, token):
    alarm = make_alarm(cast, "amok", State.TRIGGERED)
    t_sender, t_security = token(cast["sender"]), token(cast["role:security"])

    async def scenario():
        async with Receiver(server.ws, t_sender) as snd, \
                Receiver(server.ws, t_security) as sec:
            await snd.send({"type": "resolve", "alarm_id": alarm.pk, "request_id": "a"})
            err = await snd.control(type="error")
            assert err["code"] == "forbidden", err
            assert "nur der Sicherheitsdienst" in err["detail"]
            assert await asyncio.to_thread(state_of, alarm.pk) == State.TRIGGERED
            await sec.send({"type": "resolve", "alarm_id": alarm.pk, "request_id": "b"})
            ok = await sec.control(type="result", request_id="b")
            assert ok["ok"] is True
            done = await snd.next_event(type="alarm_update", kind="resolved")
            assert done["by"] == "Test Security"

    asyncio.run(scenario())
    wait_for(lambda: Alarm.objects.get(pk=alarm.pk).state == State.RESOLVED)
