"""Raising an alarm: by a person (token, session, fast path, SMS, a visit timer) or a device
(the device trigger URL), with flood protection and idempotent retries (``client_id``).

An alarm is stored before anyone learns "Alarm wurde ausgelöst". In a server process
(``runtime.running()``) the live engine delivers it right after commit, so the sender's
confirmation waits only for the alarm itself; elsewhere (commands, the worker) delivery happens
in the same transaction.
"""

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from beistand.alarms import device_location, dispatch, lifecycle, locations, records, runtime
from beistand.alarms.models import Alarm, AlarmTemplate, AlarmTimeline, DeviceTrigger
from beistand.audit import services as audit
from beistand.core.errors import AccessDenied, InvalidInput, Locked, TooManyRequests
from beistand.organisation.models import Employee

CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
MAX_COUNTDOWN = 30
SOURCES = set(Alarm.Source.values)
# A field worker's position from these sources replaces their (empty) office as the place of the
# alarm. An SMS does not: it keeps the sender's room and adds its coordinates (room plus
# position; the coordinates of an SMS may be the phone's last fix, not where the person is).
MOBILE_SOURCES = {"app", "handsfree"}


@dataclass
class Triggered:
    alarm: Alarm
    created: bool
    receivers_notified: int = 0
    deduplicated: bool = False


def get_template(code: str) -> AlarmTemplate:
    template = AlarmTemplate.objects.filter(code=(code or "").strip().lower(),
                                            active=True).first()
    if template is None:
        known = ", ".join(AlarmTemplate.objects.filter(active=True, triggerable=True)
                          .values_list("code", flat=True))
        raise InvalidInput(f"Unbekannte Alarmvorlage „{code}“. Möglich: {known}.",
                           field="template")
    if not template.triggerable:
        raise InvalidInput(f"„{template.name}“ beendet einen laufenden Alarm und kann nicht "
                           "ausgelöst werden (Entwarnung: …/resolve).", field="template")
    return template


def default_countdown(source: str) -> int:
    for item in settings.ALARM_COUNTDOWNS:
        name, _, seconds = item.partition("=")
        if name.strip() == source and seconds.strip().isdigit():
            return min(int(seconds), MAX_COUNTDOWN)
    return 0


def _refuse_flood(user, client_id: str) -> None:
    """Flood protection for a person's triggers (token, session, fast path, SMS).

    Beyond ``ALARM_USER_MAX_PER_MINUTE`` alarms within a minute a new trigger is refused (429)
    — but only while one of this person's alarms is still open, so the first alarms always go
    out and a new alarm after the all-clear never waits. A retry of an alarm already stored
    (same ``client_id`` within the window) is never refused: it is answered before this check.
    """
    limit = settings.ALARM_USER_MAX_PER_MINUTE
    if not limit:
        return
    mine = Alarm.objects.filter(sender_user=user)
    if mine.filter(triggered_at__gte=timezone.now() - timedelta(minutes=1)).count() < limit:
        return
    if not mine.filter(state__in=lifecycle.OPEN).exists():
        return
    raise TooManyRequests(f"Zu viele Alarme in kurzer Zeit (höchstens {limit} je Minute). Ihr "
                          "laufender Alarm bleibt aktiv; Hilfe ist informiert.", retry_after=60)


def trigger(*, user=None, device=None, template: str = "beistand", source: str = "web",
            position: dict | None = None, client_id: str = "", countdown_s: int | None = None,
            location_text: str = "", audience: str | None = None, room=None,
            pressed_at: datetime | None = None) -> Triggered:
    """Raise an alarm for a person (token/session) or a device. Returns after commit.
    ``room`` (else the device's or the person's room): a test alarm for a room.
    ``pressed_at``: when the press happened as the client saw it (stored and shown; never in
    the future, at most ``MAX_PRESS_AGE`` old)."""
    if source not in SOURCES:
        raise InvalidInput(f"Unbekannte Quelle „{source}“.", field="source")
    client_id = (client_id or "").strip()
    if client_id and not CLIENT_ID.match(client_id):
        raise InvalidInput("client_id: 1–64 Zeichen aus Buchstaben, Ziffern und -_.:",
                           field="client_id")
    tpl = get_template(template)
    lat, lon, acc = locations.check_position(position)
    if countdown_s is None:
        countdown_s = default_countdown(source)
    if not 0 <= countdown_s <= MAX_COUNTDOWN:
        raise InvalidInput(f"Vorlauf muss zwischen 0 und {MAX_COUNTDOWN} Sekunden liegen.",
                           field="countdown_s")
    if audience not in (None, "plan", "self"):
        raise InvalidInput("audience ist „plan“ oder „self“.", field="audience")
    pressed_at = _check_pressed_at(pressed_at)
    if user is None and device is not None and device.user_id:
        user = device.user
    # One query for the sender and everything the alarm shows about them.
    employee = (Employee.objects.select_related("unit", "room__floor__building__site")
                .filter(user=user).first() if user is not None else None)
    desk = employee.room if employee is not None else None
    if lat is not None and employee is not None and employee.field_service and \
            source in MOBILE_SOURCES:
        # A field worker's phone with a position: help goes to where they are, not to the
        # neighbours of their empty office.
        desk = None
    basis, position_at = "", None
    if device is not None and user is not None and lat is None:
        # A person's device (hands-free button, trigger URL) knows no place: the running
        # visit's address, else the phone's recent position, else the room.
        place = device_location.place_of(user)
        basis, position_at = place.basis, place.position_at
        if place.basis != "room":
            lat, lon, acc, desk = place.lat, place.lon, place.accuracy_m, None
            location_text = location_text or place.text
    room = room or (device.room if device is not None and device.room_id and basis in ("", "room")
                    else None) or desk
    now = timezone.now()
    # A retry of a press already stored (same client_id within the window) returns that
    # alarm; the unique constraint decides between concurrent retries of a person's press.
    holder = _key_holder(user, device, client_id)
    if holder is not None and _is_retry_of(holder, tpl, now):
        return Triggered(holder, created=False, deduplicated=True)
    # In a server process the engine delivers right after commit, so the sender's
    # confirmation waits only for the alarm itself to be stored. Elsewhere (commands, the
    # worker) delivery happens in this transaction.
    deferred = runtime.running() and not countdown_s
    try:
        with transaction.atomic(), audit.acting_as(records.actor(user, device)):
            if user is not None and device is None:
                # One sender's triggers are counted one at a time: the sender's row is locked
                # (PostgreSQL; SQLite's IMMEDIATE transactions queue anyway, and the alarm path
                # saves the query there), so concurrent requests cannot all pass the count
                # before any of them is stored.
                # (``request.user`` is a lazy object: the model comes from the settings.)
                if connection.vendor != "sqlite":
                    list(get_user_model().objects.select_for_update(no_key=True)
                         .filter(pk=user.pk).values_list("pk", flat=True))
                _refuse_flood(user, client_id)  # a device's presses have their own limit
            if holder is not None:
                # The earlier press with this client_id is outside the window, ended by the
                # all-clear, or a Probealarm: it gives up the key, this press is a new alarm.
                Alarm.objects.filter(pk=holder.pk, client_key=client_id).update(client_key="")
            alarm = Alarm.objects.create(
                template=tpl, sender=employee, sender_user=user, device=device, source=source,
                client_id=client_id, client_key=client_id, pressed_at=pressed_at, room=room,
                lat=lat, lon=lon, accuracy_m=acc, location_basis=basis, position_at=position_at,
                audience=audience or "",
                location_text=(location_text or "").strip()[:200], triggered_at=now,
                state=lifecycle.initial(countdown=bool(countdown_s)),
                countdown_until=now + timedelta(seconds=countdown_s) if countdown_s else None,
                # A due deadline at tier 0 means "deliver now": if this process dies before
                # delivering, any server's engine does it on its next look.
                next_deadline=now + timedelta(seconds=countdown_s) if countdown_s else now,
                persisted_at=now)
            AlarmTimeline.objects.create(alarm=alarm, at=now, kind="triggered",
                                         text=f"{tpl.name} ausgelöst über "
                                              f"{alarm.get_source_display()}",
                                         actor=(records.label(user) if user
                                                else str(device or "")))
            notified = 0
            if countdown_s:
                dispatch.send_to_sender(alarm, tier=0)
            elif deferred:
                dispatch.send_to_sender(alarm, tier=1)
            else:
                notified = dispatch.deliver(alarm, now)
    except IntegrityError:
        # A concurrent retry with the same client_id won the race: return its alarm.
        existing = _existing(user, device, client_id, timezone.now())
        if existing is None:
            raise
        return Triggered(existing, created=False, deduplicated=True)
    # After the commit (at once when no outer transaction holds it, as for most callers): the
    # engine reads the alarm from the database.
    if deferred:
        transaction.on_commit(lambda: runtime.dispatch_soon(alarm.pk))
    elif alarm.next_deadline is not None:
        transaction.on_commit(lambda: runtime.wake_at(alarm.next_deadline))
    return Triggered(alarm, created=True, receivers_notified=notified)


def _same_sender(user, device):
    if user is not None:
        return Alarm.objects.filter(sender_user=user)
    return Alarm.objects.filter(device=device, sender_user=None)


def _key_holder(user, device, client_id):
    """The sender's alarm that holds ``client_id`` as its key (at most one: a unique
    constraint), or None. One query on every trigger with a ``client_id``."""
    if not client_id:
        return None
    return (_same_sender(user, device).filter(client_key=client_id)
            .select_related("template").first())


def _is_retry_of(alarm, tpl, now) -> bool:
    """Whether a press with the key of ``alarm`` is a retry of it: ``alarm`` is live (see
    ``_live``), and a real alarm never returns a running Probealarm with the same key (a desk
    phone that reuses its id after a self-test)."""
    return _live(alarm, now) and not (alarm.template.test and not tpl.test)


def _live(alarm, now) -> bool:
    """Raised within ``ALARM_CLIENT_ID_WINDOW_SECONDS`` and not ended by an all-clear."""
    window = timedelta(seconds=settings.ALARM_CLIENT_ID_WINDOW_SECONDS)
    return alarm.triggered_at >= now - window and alarm.state != lifecycle.State.RESOLVED


def _existing(user, device, client_id, now):
    """The alarm a concurrent retry of this press stored (it won the key's unique constraint):
    the key's holder, if live. Anything else is a new press (a fixed trigger URL with a
    ``client_id`` works for every press)."""
    holder = _key_holder(user, device, client_id)
    return holder if holder is not None and _live(holder, now) else None


MAX_PRESS_AGE = timedelta(hours=24)
CLOCK_SKEW = timedelta(minutes=5)


def _check_pressed_at(pressed_at: datetime | None) -> datetime | None:
    """A client's clock may be a little ahead: up to ``CLOCK_SKEW`` in the future counts as
    now; further ahead, naive, or older than ``MAX_PRESS_AGE`` is refused."""
    if pressed_at is None:
        return None
    if pressed_at.tzinfo is None:
        raise InvalidInput("pressed_at braucht eine Zeitzone (z. B. …Z).", field="pressed_at")
    now = timezone.now()
    if pressed_at > now + CLOCK_SKEW:
        raise InvalidInput("pressed_at liegt in der Zukunft.", field="pressed_at")
    if pressed_at < now - MAX_PRESS_AGE:
        raise InvalidInput("pressed_at liegt mehr als 24 Stunden zurück.", field="pressed_at")
    return min(pressed_at, now)


DEVICE_DEFAULT_TEMPLATES = ("beistand",)


def device_templates(device) -> set[str]:
    """The template codes this device's trigger URL may raise (``DeviceToken.alarm_templates``;
    empty: the default template). A Probealarm is always allowed: it alarms nobody else."""
    codes = {c.strip().lower() for c in (device.alarm_templates or "").split(",") if c.strip()}
    return codes or set(DEVICE_DEFAULT_TEMPLATES)


def trigger_by_device(device, *, template="beistand", source="button", client_id="",
                      position=None, now=None, pressed_at=None) -> Triggered:
    """Device trigger URL. Only the device's templates (``device_templates``); one new alarm
    per device per interval whatever template is asked: a press within the interval of the
    device's last alarm that is still open returns that alarm (a real alarm never hides
    behind a running Probealarm, though); more than the hourly limit is refused while an
    alarm of the device stays open."""
    given_now = now
    now = now or timezone.now()
    tpl = get_template(template)
    if not tpl.test and tpl.code not in device_templates(device):
        with transaction.atomic():
            DeviceTrigger.objects.create(device=device, at=now, outcome="forbidden")
        raise AccessDenied(f"Die Alarmvorlage „{tpl.name}“ ist für dieses Gerät nicht "
                           "freigegeben.")
    # One transaction per press, the device's row locked first: concurrent presses of one
    # device are decided one after the other (PostgreSQL; SQLite's IMMEDIATE transactions
    # queue anyway), so a burst cannot raise two alarms within the interval.
    with transaction.atomic():
        list(type(device).objects.select_for_update(no_key=True).filter(pk=device.pk)
             .values_list("pk", flat=True))
        # (the time of the press as decided: after any press of this device ahead of it)
        result, retry_after = _device_press(device, tpl, source, client_id, position,
                                            given_now or timezone.now(), pressed_at)
    if result is None:
        raise Locked("Zu viele Auslösungen von diesem Gerät; der laufende Alarm bleibt aktiv.",
                     retry_after=retry_after)
    return result


def _device_press(device, tpl, source, client_id, position, now, pressed_at):
    """-> (Triggered, None), or (None, Retry-After) for a call refused by the hourly limit
    (logged and counted: the caller raises after the commit)."""
    retry_after = 3600
    recent = DeviceTrigger.objects.filter(device=device, at__gte=now - timedelta(hours=1))
    calls = recent.count()
    alarms = recent.filter(alarm__isnull=False, outcome="alarm",
                           alarm__state__in=lifecycle.OPEN)
    if not tpl.test:
        alarms = alarms.filter(alarm__template__test=False)
    last = alarms.select_related("alarm__template").order_by("-at").first()
    running = last.alarm if last is not None else None
    if calls >= settings.ALARM_DEVICE_MAX_PER_HOUR and running is not None:
        DeviceTrigger.objects.create(device=device, at=now, alarm=running,
                                     outcome="refused")
        # Retry-After: when enough calls (this refused one counts too) have left the hour
        # for one more to pass (the all-clear of the running alarm lifts the limit earlier).
        ats = list(recent.order_by("at").values_list("at", flat=True)
                   [:calls - settings.ALARM_DEVICE_MAX_PER_HOUR + 2])
        if ats:
            retry_after = math.ceil((ats[-1] + timedelta(hours=1) - now).total_seconds())
        return None, retry_after
    elif running is not None and last.at >= now - timedelta(
            seconds=settings.ALARM_DEVICE_MIN_INTERVAL_SECONDS):
        DeviceTrigger.objects.create(device=device, at=now, alarm=running,
                                     outcome="repeat")
        return Triggered(running, created=False, deduplicated=True), None
    result = trigger(device=device, template=tpl.code, source=source, client_id=client_id,
                     position=position, countdown_s=0, pressed_at=pressed_at)
    DeviceTrigger.objects.create(device=device, at=now, alarm=result.alarm,
                                 outcome="alarm" if result.created else "repeat")
    return result, None
