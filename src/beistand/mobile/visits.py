"""Lone-worker timer (Zeitalarm) for field visits: server-side, so it fires on a dead phone.

A visit has an expected end. The phone is asked "Alles in Ordnung?" ``VISIT_CHECKIN_MINUTES``
before it (at most half-way through short visits); at the expected end an unanswered visit turns
into a pre-alarm (the person's own phone only); ``VISIT_PREALARM_MINUTES`` later a real alarm
goes to the team, with the visit address and the last known position::

    running --checkin_at--> asked --prealarm_at--> prealarm --alarm_at--> alarmed
       ^  "Alles in Ordnung, noch N Minuten" (checkin) |                      |
       +-----------------------------------------------+        end (any state) -> ended

``run_due(now)`` performs every transition that is due. It is idempotent and safe to call from
several processes at once: each transition is claimed with a conditional UPDATE (one winner),
and the alarm is raised with the client id ``visit-<id>``, so a repeated attempt (a process that
died in between, a second caller) returns the same alarm instead of a second one.

The phone learns about "asked" and "prealarm" by reading ``GET /api/v1/visits/current``
(on start, every few seconds while a visit runs, on focus and when it comes back online) and
from the times it got at the start; the server never depends on the phone for the alarm.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from beistand.audit import services as audit
from beistand.core.errors import Conflict, InvalidInput, NotFound
from beistand.mobile.models import Visit

logger = logging.getLogger("beistand.mobile")

# A claimed alarm transition that did not finish (the process died) is retried after this.
ALARM_LEASE = timedelta(seconds=60)
MAX_ADDRESS = 200


def _actor(user):
    return audit.actor_for_user(user, remote_addr=audit.current_actor().remote_addr)


SYSTEM = audit.Actor(user=None, label="Zeitalarm")


def _minutes(value, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput("Dauer in ganzen Minuten angeben.", field=field)
    if not 1 <= value <= settings.VISIT_MAX_MINUTES:
        raise InvalidInput(f"Dauer zwischen 1 und {settings.VISIT_MAX_MINUTES} Minuten.",
                           field=field)
    return value


def schedule(expected_end, minutes: int) -> dict:
    """The three times of a visit ending at ``expected_end`` that lasts ``minutes``."""
    lead = min(timedelta(minutes=settings.VISIT_CHECKIN_MINUTES), timedelta(minutes=minutes) / 2)
    return {"checkin_at": expected_end - lead, "prealarm_at": expected_end,
            "alarm_at": expected_end + timedelta(minutes=settings.VISIT_PREALARM_MINUTES)}


def _position(position):
    if not position:
        return None, None, None
    from beistand.alarms.services import check_position

    return check_position(position)


def current(user) -> Visit | None:
    """The person's open visit, else one whose alarm went out and that was not ended."""
    return (Visit.objects.filter(user=user, state__in=[*Visit.OPEN_STATES, Visit.State.ALARMED])
            .select_related("alarm").order_by("-started_at").first())


def get(user, visit_id: int) -> Visit:
    visit = Visit.objects.filter(pk=visit_id, user=user).select_related("alarm").first()
    if visit is None:
        raise NotFound("Diesen Besuch gibt es nicht.")
    return visit


def start(user, *, address: str, minutes: int, note: str = "", position: dict | None = None,
          lookup_id: int | None = None, now=None) -> Visit:
    now = now or timezone.now()
    address = " ".join((address or "").split())
    if len(address) < 3:
        raise InvalidInput("Bitte die Anschrift des Besuchs angeben.", field="address")
    if len(address) > MAX_ADDRESS:
        raise InvalidInput(f"Anschrift: höchstens {MAX_ADDRESS} Zeichen.", field="address")
    minutes = _minutes(minutes, "minutes")
    lat, lon, acc = _position(position)
    expected_end = now + timedelta(minutes=minutes)
    times = schedule(expected_end, minutes)
    with transaction.atomic(), audit.acting_as(_actor(user)):
        if Visit.objects.select_for_update().filter(user=user,
                                                    state__in=Visit.OPEN_STATES).exists():
            raise Conflict("Es läuft bereits ein Besuch. Bitte zuerst beenden.")
        visit = Visit.objects.create(
            user=user, address=address, note=" ".join((note or "").split())[:200],
            started_at=now, expected_end=expected_end, next_due=times["checkin_at"],
            last_lat=lat, last_lon=lon, last_accuracy_m=acc,
            position_at=now if lat is not None else None, lookup_id=lookup_id, **times)
    return visit


def checkin(user, visit_id: int, minutes: int, now=None) -> Visit:
    """"Alles in Ordnung" – the visit goes on for ``minutes`` more from now."""
    now = now or timezone.now()
    minutes = _minutes(minutes, "minutes")
    with transaction.atomic(), audit.acting_as(_actor(user)):
        visit = Visit.objects.select_for_update().filter(pk=visit_id, user=user).first()
        if visit is None:
            raise NotFound("Diesen Besuch gibt es nicht.")
        if not visit.is_open:
            raise Conflict("Der Besuch ist nicht mehr offen" + (
                " – der Alarm ist bereits ausgelöst. Bitte Entwarnung geben."
                if visit.state == Visit.State.ALARMED else "."))
        visit.expected_end = now + timedelta(minutes=minutes)
        for name, value in schedule(visit.expected_end, minutes).items():
            setattr(visit, name, value)
        visit.state = Visit.State.RUNNING
        visit.next_due = visit.checkin_at
        visit.last_checkin_at = now
        visit.save()
    return visit


def end(user, visit_id: int, now=None) -> Visit:
    """The visit is over and the person is safe. A running alarm is not resolved by this."""
    now = now or timezone.now()
    with transaction.atomic(), audit.acting_as(_actor(user)):
        visit = Visit.objects.select_for_update().filter(pk=visit_id, user=user).first()
        if visit is None:
            raise NotFound("Diesen Besuch gibt es nicht.")
        if visit.state == Visit.State.ENDED:
            return visit
        visit.state = Visit.State.ENDED
        visit.ended_at = now
        visit.next_due = None
        visit.save()
    return visit


def report_position(user, visit_id: int, lat, lon, accuracy_m=None, now=None) -> Visit:
    """The phone's position during the visit; passed on to the helpers once the alarm runs."""
    now = now or timezone.now()
    lat, lon, acc = _position({"lat": lat, "lon": lon, "accuracy_m": accuracy_m})
    with transaction.atomic():
        visit = Visit.objects.select_for_update().filter(pk=visit_id, user=user).first()
        if visit is None:
            raise NotFound("Diesen Besuch gibt es nicht.")
        if visit.state == Visit.State.ENDED:
            raise Conflict("Der Besuch ist beendet.")
        Visit.objects.filter(pk=visit.pk).update(last_lat=lat, last_lon=lon,
                                                 last_accuracy_m=acc, position_at=now)
        visit.last_lat, visit.last_lon, visit.last_accuracy_m = lat, lon, acc
        visit.position_at = now
    if visit.state == Visit.State.ALARMED and visit.alarm_id:
        from beistand.alarms import services as alarms

        alarms.update_position(user, lat, lon, acc, alarm_id=visit.alarm_id)
    return visit


# --- Server-side timer ----------------------------------------------------------------------------

@dataclass
class DueRun:
    asked: list[int]
    prealarmed: list[int]
    alarmed: list[int]


def run_due(now=None) -> DueRun:
    """Every transition that is due at ``now``. Idempotent; call it often (engine, worker)."""
    now = now or timezone.now()
    run = DueRun([], [], [])
    due = list(Visit.objects.filter(next_due__lte=now, state__in=Visit.OPEN_STATES)
               .order_by("next_due").values_list("pk", flat=True)[:200])
    for visit_id in due:
        try:
            _advance(visit_id, now, run)
        except Exception:
            logger.exception("Zeitalarm: Besuch %s konnte nicht weitergeschaltet werden", visit_id)
    return run


def _advance(visit_id: int, now, run: DueRun) -> None:
    # A server that was down past several times catches up in one call: an overdue visit ends
    # in an alarm, never in silence.
    for _ in range(3):
        visit = Visit.objects.filter(pk=visit_id).first()
        if visit is None or not visit.is_open or visit.next_due is None or visit.next_due > now:
            return
        if visit.state == Visit.State.RUNNING:
            if _step(visit, Visit.State.ASKED, visit.prealarm_at, now):
                run.asked.append(visit_id)
                _notify(visit, "asked")
        elif visit.state == Visit.State.ASKED:
            if _step(visit, Visit.State.PREALARM, visit.alarm_at, now):
                run.prealarmed.append(visit_id)
                _notify(visit, "prealarm")
        elif visit.state == Visit.State.PREALARM:
            if _raise_alarm(visit, now):
                run.alarmed.append(visit_id)
            return


def _step(visit, new_state, next_due, now) -> bool:
    with transaction.atomic(), audit.acting_as(SYSTEM):
        # One winner among concurrent callers: the row must still be in the state we read.
        won = Visit.objects.filter(pk=visit.pk, state=visit.state, next_due=visit.next_due
                                   ).update(state=new_state, next_due=next_due)
        if won:
            audit.record("mobile.visit.state", obj=visit, before={"state": visit.state},
                         after={"state": new_state})
    return bool(won)


def _raise_alarm(visit, now) -> bool:
    from beistand.alarms import services as alarms

    # Claim with a lease: a process that dies after this line leaves the visit due again later.
    claimed = Visit.objects.filter(pk=visit.pk, state=Visit.State.PREALARM,
                                   next_due=visit.next_due).update(next_due=now + ALARM_LEASE)
    if not claimed:
        return False
    position = None
    if visit.last_lat is not None and visit.last_lon is not None:
        position = {"lat": visit.last_lat, "lon": visit.last_lon,
                    "accuracy_m": visit.last_accuracy_m}
    result = alarms.trigger(user=visit.user, template=settings.VISIT_ALARM_TEMPLATE,
                            source="app", position=position, countdown_s=0,
                            location_text=f"Zeitalarm Besuch: {visit.address}"[:200],
                            client_id=f"visit-{visit.pk}")
    with transaction.atomic(), audit.acting_as(SYSTEM):
        Visit.objects.filter(pk=visit.pk, state=Visit.State.PREALARM).update(
            state=Visit.State.ALARMED, next_due=None, alarm=result.alarm)
        audit.record("mobile.visit.alarm", obj=visit, before={"state": visit.state},
                     after={"state": Visit.State.ALARMED, "alarm": result.alarm.pk})
    logger.warning("Zeitalarm: Besuch %s unbeantwortet – Alarm %s ausgelöst", visit.pk,
                   result.alarm.pk)
    return True


def _notify(visit, kind: str) -> None:
    """Tell the person's phone outside the open app: a Web Push (if the body has VAPID keys and
    the phone subscribed). The open app reads the state itself; the server's alarm never depends
    on either."""

    from beistand.alarms import webpush

    logger.info("Zeitalarm: Besuch %s – %s", visit.pk, kind)
    if not webpush.configured():
        return
    end = timezone.localtime(visit.expected_end).strftime("%H:%M")
    alarm_at = timezone.localtime(visit.alarm_at).strftime("%H:%M")
    payload = {"type": "visit", "visit_id": visit.pk, "tag": f"visit-{visit.pk}", "url": "/app/",
               "title": "Voralarm: Alles in Ordnung?" if kind == "prealarm"
               else "Alles in Ordnung?",
               "body": (f"Ohne Antwort geht um {alarm_at} Uhr ein Alarm an Ihr Team."
                        if kind == "prealarm" else
                        f"Ihr Besuch ({visit.address}) endet um {end} Uhr. Bitte bestätigen.")}
    with transaction.atomic():
        webpush.queue_push([visit.user_id], payload, timezone.now())


def running_visit_place(user):
    """For a device trigger of ``user``: the running visit's address and last position (the
    alarm app asks through ``alarms.device_location``, registered in ``MobileConfig.ready``)."""
    from beistand.alarms.services import VisitPlace

    visit = (Visit.objects.filter(user=user, state__in=Visit.OPEN_STATES)
             .order_by("-started_at").first())
    if visit is None:
        return None
    return VisitPlace(address=visit.address, lat=visit.last_lat, lon=visit.last_lon,
                      accuracy_m=visit.last_accuracy_m, position_at=visit.position_at)
