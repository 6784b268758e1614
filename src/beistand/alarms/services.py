"""Public face of the silent alarm: trigger, dispatch by plan, escalate, respond, talk, end.

Every function owns its transaction. An alarm and the events for its receivers are stored in
one transaction; only then does the caller learn "Alarm wurde ausgelöst", and only then are the
events pushed (see store.py and fanout.py). Escalation deadlines are stored on the alarm, so a
restarted server resumes them where they were.
"""

import logging
import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from beistand.accounts.roles import Role
from beistand.accounts.services import has_role
from beistand.alarms import locations, payloads, plans, store
from beistand.alarms.models import (
    Alarm,
    AlarmMessage,
    AlarmRecipient,
    AlarmTemplate,
    AlarmTier,
    AlarmTimeline,
    DeviceTrigger,
    Inbox,
    InboxEvent,
)
from beistand.audit import services as audit
from beistand.core.errors import (
    AccessDenied,
    Conflict,
    InvalidInput,
    Locked,
    NotFound,
    TooManyRequests,
)
from beistand.ops import metrics as ops_metrics
from beistand.organisation.models import Employee

logger = logging.getLogger("beistand.alarms")

CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
MAX_COUNTDOWN = 30
SOURCES = set(Alarm.Source.values)
MOBILE_SOURCES = {"app", "handsfree", "sms"}


@dataclass
class Triggered:
    alarm: Alarm
    created: bool
    receivers_notified: int = 0
    deduplicated: bool = False


# --- Helpers ----------------------------------------------------------------------------------

def _employee(user):
    return getattr(user, "employee", None) if user is not None else None


def _label(user) -> str:
    emp = _employee(user)
    if emp is not None:
        return emp.full_name
    if user is None:
        return "System"
    return user.get_full_name() or user.get_username()


def _timeline(alarm, kind: str, text: str, actor: str = "", at=None):
    return AlarmTimeline(alarm=alarm, kind=kind, text=text[:500], actor=actor[:200],
                         at=at or timezone.now())


def _actor(user, device=None):
    if user is not None:
        return audit.actor_for_user(user, remote_addr=audit.current_actor().remote_addr)
    if device is not None:
        return audit.Actor(user=None, label=f"Gerät {device.name}"[:200])
    return audit.Actor(user=None, label="Alarm-Server")


# Delivery bookkeeping on the alarm row, left out of its audit record (the alarm's timeline
# has it): written without the audit signal's read-before-write on the hot path.
BOOKKEEPING = frozenset({"plan", "current_tier", "next_deadline", "first_delivered_at"})


def _bookkeep(alarm, *fields):
    assert BOOKKEEPING.issuperset(fields), fields
    Alarm.objects.filter(pk=alarm.pk).update(**{
        (f"{name}_id" if name == "plan" else name): getattr(
            alarm, f"{name}_id" if name == "plan" else name) for name in fields})


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


def _check_position(position: dict | None):
    if not position:
        return None, None, None
    lat, lon, acc = position.get("lat"), position.get("lon"), position.get("accuracy_m")
    if lat is None or lon is None:
        raise InvalidInput("Position braucht lat und lon.", field="position")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidInput("Position außerhalb des gültigen Bereichs (lat ±90, lon ±180).",
                           field="position")
    if acc is not None and not 0 <= acc <= 100_000:
        raise InvalidInput("Genauigkeit muss zwischen 0 und 100000 m liegen.",
                           field="position.accuracy_m")
    return float(lat), float(lon), None if acc is None else float(acc)


def default_countdown(source: str) -> int:
    for item in settings.ALARM_COUNTDOWNS:
        name, _, seconds = item.partition("=")
        if name.strip() == source and seconds.strip().isdigit():
            return min(int(seconds), MAX_COUNTDOWN)
    return 0


# --- Trigger ----------------------------------------------------------------------------------

def _refuse_flood(user, client_id: str) -> None:
    """Flood protection for a person's triggers (token, session, fast path, SMS).

    Beyond ``ALARM_USER_MAX_PER_MINUTE`` alarms within a minute a new trigger is refused (429)
    — but only while one of this person's alarms is still open, so the first alarms always go
    out and a new alarm after the all-clear never waits. A retry of an alarm already stored
    (same ``client_id``) is never refused: it returns that alarm.
    """
    limit = settings.ALARM_USER_MAX_PER_MINUTE
    if not limit:
        return
    mine = Alarm.objects.filter(sender_user=user)
    if mine.filter(triggered_at__gte=timezone.now() - timedelta(minutes=1)).count() < limit:
        return
    if client_id and mine.filter(client_id=client_id).exists():
        return
    if not mine.filter(state__in=(Alarm.State.COUNTDOWN, Alarm.State.TRIGGERED,
                                  Alarm.State.ACKNOWLEDGED)).exists():
        return
    raise TooManyRequests(f"Zu viele Alarme in kurzer Zeit (höchstens {limit} je Minute). Ihr "
                          "laufender Alarm bleibt aktiv; Hilfe ist informiert.", retry_after=60)


def trigger(*, user=None, device=None, template: str = "beistand", source: str = "web",
            position: dict | None = None, client_id: str = "", countdown_s: int | None = None,
            location_text: str = "", audience: str | None = None, room=None) -> Triggered:
    """Raise an alarm for a person (token/session) or a device. Returns after commit.
    ``room`` (else the device's or the person's room): a test alarm for a room."""
    if source not in SOURCES:
        raise InvalidInput(f"Unbekannte Quelle „{source}“.", field="source")
    client_id = (client_id or "").strip()
    if client_id and not CLIENT_ID.match(client_id):
        raise InvalidInput("client_id: 1–64 Zeichen aus Buchstaben, Ziffern und -_.:",
                           field="client_id")
    tpl = get_template(template)
    lat, lon, acc = _check_position(position)
    if countdown_s is None:
        countdown_s = default_countdown(source)
    if not 0 <= countdown_s <= MAX_COUNTDOWN:
        raise InvalidInput(f"Vorlauf muss zwischen 0 und {MAX_COUNTDOWN} Sekunden liegen.",
                           field="countdown_s")
    if audience not in (None, "plan", "self"):
        raise InvalidInput("audience ist „plan“ oder „self“.", field="audience")
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
    room = room or (device.room if device is not None and device.room_id else None) or desk
    if user is None:
        # Device-only alarms have no sender for the unique constraint: look first. For a
        # person the constraint decides (a retry fails the insert and returns the first).
        existing = _existing(user, device, client_id)
        if existing is not None:
            return Triggered(existing, created=False)
    elif device is None:
        _refuse_flood(user, client_id)  # a device's presses have their own limit
    now = timezone.now()
    from beistand.alarms.hub import HUB

    # In a server process the engine delivers right after commit, so the sender's
    # confirmation waits only for the alarm itself to be stored. Elsewhere (commands, the
    # worker) delivery happens in this transaction.
    deferred = HUB.running and not countdown_s
    try:
        with transaction.atomic(), audit.acting_as(_actor(user, device)):
            alarm = Alarm.objects.create(
                template=tpl, sender=employee, sender_user=user, device=device, source=source,
                client_id=client_id, room=room, lat=lat, lon=lon, accuracy_m=acc,
                audience=audience or "",
                location_text=(location_text or "").strip()[:200], triggered_at=now,
                state=Alarm.State.COUNTDOWN if countdown_s else Alarm.State.TRIGGERED,
                countdown_until=now + timedelta(seconds=countdown_s) if countdown_s else None,
                # A due deadline at tier 0 means "deliver now": if this process dies before
                # delivering, any server's engine does it on its next look.
                next_deadline=now + timedelta(seconds=countdown_s) if countdown_s else now,
                persisted_at=now)
            AlarmTimeline.objects.create(alarm=alarm, at=now, kind="triggered",
                                         text=f"{tpl.name} ausgelöst über "
                                              f"{alarm.get_source_display()}",
                                         actor=_label(user) if user else str(device or ""))
            notified = 0
            if countdown_s:
                _send_to_sender(alarm, tier=0)
            elif deferred:
                _send_to_sender(alarm, tier=1)
            else:
                notified = _dispatch(alarm, now)
    except IntegrityError:
        # A concurrent retry with the same client_id won the race: return its alarm.
        existing = _existing(user, device, client_id)
        if existing is None:
            raise
        return Triggered(existing, created=False)
    if deferred:
        HUB.dispatch_soon(alarm.pk)
    elif alarm.next_deadline is not None:
        HUB.wake_at(alarm.next_deadline)
    return Triggered(alarm, created=True, receivers_notified=notified)


def _existing(user, device, client_id):
    if not client_id:
        return None
    qs = Alarm.objects.filter(client_id=client_id)
    qs = qs.filter(sender_user=user) if user is not None else qs.filter(device=device,
                                                                         sender_user=None)
    return qs.first()


def trigger_by_device(device, *, template="beistand", source="button", client_id="",
                      position=None, now=None) -> Triggered:
    """Device trigger URL. The first press always goes out; repeats within the interval return
    the running alarm; more than the hourly limit is refused while the alarm stays."""
    now = now or timezone.now()
    refused = False
    with transaction.atomic():
        recent = DeviceTrigger.objects.filter(device=device, at__gte=now - timedelta(hours=1))
        calls = recent.count()
        # Repeats are presses of the same kind: a Probealarm never hides behind a real alarm.
        last = (recent.filter(alarm__isnull=False, outcome="alarm",
                              alarm__template__code=(template or "").strip().lower())
                .select_related("alarm").order_by("-at").first())
        running = last.alarm if last is not None and last.alarm.is_open else None
        if calls >= settings.ALARM_DEVICE_MAX_PER_HOUR and running is not None:
            DeviceTrigger.objects.create(device=device, at=now, alarm=running,
                                         outcome="refused")
            refused = True  # raised after commit: the refused call is logged and counted
        elif running is not None and last.at >= now - timedelta(
                seconds=settings.ALARM_DEVICE_MIN_INTERVAL_SECONDS):
            DeviceTrigger.objects.create(device=device, at=now, alarm=running,
                                         outcome="repeat")
            return Triggered(running, created=False, deduplicated=True)
    if refused:
        raise Locked("Zu viele Auslösungen von diesem Gerät; der laufende Alarm bleibt aktiv.")
    result = trigger(device=device, template=template, source=source, client_id=client_id,
                     position=position, countdown_s=0)
    with transaction.atomic():
        DeviceTrigger.objects.create(device=device, at=now, alarm=result.alarm,
                                     outcome="alarm" if result.created else "repeat")
    return result


# --- Dispatch and escalation ------------------------------------------------------------------

def _send_to_sender(alarm, tier: int):
    """The sender's own clients get the alarm too (role "sender": no receive window)."""
    if alarm.sender_user_id is None:
        return
    inbox = store.inbox_for_user(alarm.sender_user)
    fresh = tier <= 1 and alarm.state != Alarm.State.ACKNOWLEDGED
    common = payloads.alarm_common(alarm, known_responders=[] if fresh else None)
    store.append([(inbox.pk, "alarm", payloads.alarm_event(alarm, role="sender", tier=tier,
                                                           distance_m=0, common=common),
                   alarm.pk)])


def _dispatch(alarm, now, sender_told=False) -> int:
    """First delivery (after the countdown, if any). Returns receivers notified."""
    tpl = alarm.template
    audience = alarm.audience or tpl.audience
    if not sender_told:
        _send_to_sender(alarm, tier=1)
    if audience == AlarmTemplate.Audience.SELF:
        alarm.next_deadline = None
        _bookkeep(alarm, "next_deadline")
        return 0
    if audience in (AlarmTemplate.Audience.BUILDING, AlarmTemplate.Audience.SITE):
        members = plans.area_members(alarm.room, audience)
        notified, _ = _notify(alarm, members, tier_no=1, tier=None, now=now)
        alarm.current_tier = 1
        alarm.next_deadline = None
        _bookkeep(alarm, "current_tier", "next_deadline")
        return notified
    employee = alarm.sender
    plan = plans.resolve_plan(alarm.room, employee.unit if employee else None)
    alarm.plan = plan
    _bookkeep(alarm, "plan")
    return _next_tiers(alarm, now, after=0)


def _next_tiers(alarm, now, after: int) -> int:
    """Notify the next tier after ``after``; tiers with nobody online are skipped at once."""
    notified = 0
    tiers = list(alarm.plan.tiers.order_by("order")) if alarm.plan_id else []
    employee = alarm.sender
    for tier in (t for t in tiers if t.order > after):
        members = plans.tier_members(tier, room=alarm.room,
                                     unit=employee.unit if employee else None,
                                     lat=alarm.lat, lon=alarm.lon)
        count, online = _notify(alarm, members, tier_no=tier.order, tier=tier, now=now)
        notified += count
        alarm.current_tier = tier.order
        if tier.order > 1:
            _broadcast(alarm, payloads.update_event(alarm, "escalated", tier=tier.order))
        if online == 0 and tier.kind != AlarmTier.Kind.EXTERNAL:
            AlarmTimeline.objects.create(alarm=alarm, kind="skipped",
                                         text=f"Stufe {tier.order} ({tier.get_kind_display()}): "
                                              "niemand online – sofort weiter")
            continue
        if alarm.template.escalate:
            alarm.next_deadline = now + timedelta(seconds=tier.timeout_s)
        else:
            alarm.next_deadline = None
        _bookkeep(alarm, "current_tier", "next_deadline")
        return notified
    alarm.next_deadline = None
    _bookkeep(alarm, "current_tier", "next_deadline")
    if tiers:
        AlarmTimeline.objects.create(alarm=alarm, kind="exhausted",
                                     text="Alle Stufen des Alarmplans sind ausgeschöpft.")
    return notified


def _notify(alarm, members, *, tier_no: int, tier, now) -> tuple[int, int]:
    """Store the alarm for every new receiver of a tier; SMS/e-mail fallbacks. -> (new, online)."""
    from beistand.alarms import sms, webpush

    user_ids = set(members.user_ids)
    user_ids.discard(alarm.sender_user_id)
    by_user = store.inboxes_for_users(user_ids)
    by_device = store.inboxes_for_devices(members.device_ids)
    already = set(AlarmRecipient.objects.filter(alarm=alarm).values_list("inbox_id", flat=True))
    sender_inbox = (Inbox.objects.filter(user_id=alarm.sender_user_id)
                    .values_list("id", flat=True).first())
    targets = {inbox: ("user", uid) for uid, inbox in by_user.items()}
    targets.update({inbox: ("device", did) for did, inbox in by_device.items()})
    for inbox in list(targets):
        if inbox in already or inbox == sender_inbox:
            del targets[inbox]
    online = plans.online_inboxes(targets)
    info = _receiver_info(targets)
    origin = payloads.alarm_point(alarm)
    # The event is the same for every receiver but for the distance: serialise it once.
    head = store.serialise(payloads.alarm_event(alarm, role="receiver", tier=tier_no,
                                                distance_m=None))[:-len(', "distance_m": null}')]
    recipients, events, sms_to = [], [], []
    for inbox_id in targets:
        label, point, mobile = info.get(inbox_id, ("Empfänger", locations.Point(), ""))
        is_online = inbox_id in online
        recipients.append((alarm.pk, inbox_id, label[:200], tier_no, is_online, now, "", False))
        distance = locations.distance_m(origin, point)
        events.append((inbox_id, "alarm",
                       f'{head}, "distance_m": {"null" if distance is None else distance}}}',
                       alarm.pk))
        wants_sms = tier is not None and (tier.sms_always or
                                          (tier.sms_when_offline and not is_online))
        if wants_sms and mobile:
            sms_to.append((inbox_id, mobile))
    store.insert_rows("alarms_alarmrecipient",
                      ("alarm_id", "inbox_id", "label", "tier", "online", "notified_at",
                       "response", "sms_sent"), recipients)
    store.append(events)
    if sms_to:
        sms.queue_alarm_sms(alarm, sms_to, now)
        AlarmRecipient.objects.filter(alarm=alarm, inbox_id__in=[i for i, _ in sms_to]).update(
            sms_sent=True)
    webpush.queue_alarm_push(alarm, [ref for kind, ref in targets.values() if kind == "user"],
                             now)
    if tier is not None and tier.kind == AlarmTier.Kind.EXTERNAL and tier.external_phone:
        sms.queue_alarm_sms(alarm, [(None, tier.external_phone)], now)
    if tier is not None and (tier.email or tier.kind == AlarmTier.Kind.EXTERNAL):
        _email(alarm, tier, targets)
    what = tier.get_kind_display() if tier is not None else alarm.template.get_audience_display()
    AlarmTimeline.objects.create(
        alarm=alarm, at=now, kind="notified",
        text=f"Stufe {tier_no} ({what}): {len(targets)} Empfänger, davon {len(online)} online"
             + (f", {len(sms_to)} SMS" if sms_to else ""))
    audit.record("alarms.alarm.notify", obj=alarm,
                 after={"tier": tier_no, "receivers": sorted(targets)})
    return len(targets), len(online)


def _receiver_info(targets) -> dict:
    """inbox id -> (label, point for distance, mobile number)."""
    from beistand.accounts.models import DeviceToken
    from beistand.organisation.models import Employee

    user_ids = {ref for kind, ref in targets.values() if kind == "user"}
    device_ids = {ref for kind, ref in targets.values() if kind == "device"}
    max_age = timezone.now() - timedelta(minutes=settings.ALARM_POSITION_MAX_AGE_MINUTES)
    positions = {i: (lat, lon) for i, lat, lon, at in Inbox.objects.filter(
        pk__in=targets, position_at__gte=max_age).values_list("id", "lat", "lon",
                                                              "position_at")
        if lat is not None}
    place = ("room__x", "room__y", "room__floor__level", "room__floor__building_id",
             "room__floor__building__latitude", "room__floor__building__longitude",
             "room__floor__building__site__latitude", "room__floor__building__site__longitude")

    def point(x, y, level, building, b_lat, b_lon, s_lat, s_lon):
        lat, lon = (b_lat, b_lon) if b_lat is not None else (s_lat, s_lon)
        return locations.Point(lat=None if lat is None else float(lat),
                               lon=None if lon is None else float(lon),
                               building_id=building, level=level, x=x, y=y)

    people = {row[0]: (f"{row[1]} {row[2]}", row[3], point(*row[4:])) for row in
              Employee.objects.filter(user_id__in=user_ids).values_list(
                  "user_id", "first_name", "last_name", "mobile_phone", *place)}
    devices = {row[0]: (f"Gerät {row[1]}", "", point(*row[2:])) for row in
               DeviceToken.objects.filter(pk__in=device_ids).values_list("id", "name", *place)}
    info = {}
    for inbox_id, (kind, ref) in targets.items():
        label, mobile, where = (people if kind == "user" else devices).get(
            ref, (f"Empfänger {ref}", "", locations.Point()))
        if inbox_id in positions:
            lat, lon = positions[inbox_id]
            where = locations.Point(lat=lat, lon=lon)
        info[inbox_id] = (label, where, mobile)
    return info


def _email(alarm, tier, targets):
    from beistand.notify.services import enqueue_mail
    from beistand.organisation.models import Employee

    user_ids = [ref for kind, ref in targets.values() if kind == "user"]
    to = list(Employee.objects.filter(user_id__in=user_ids).exclude(email="")
              .values_list("email", flat=True))
    if tier.external_email:
        to.append(tier.external_email)
    if not to:
        return
    location = payloads.location_of(alarm)
    sender = payloads.sender_info(alarm)
    enqueue_mail(to, f"ALARM: {alarm.template.name} – {sender['name']}", "alarm_alert",
                 {"alarm": alarm, "sender": sender, "where": locations.one_line(location),
                  "instructions": alarm.template.instructions},
                 reason=f"Alarm {alarm.pk}, Stufe {tier.order}")


def _audience_inboxes(alarm) -> list[int]:
    """Everyone on the alarm: the sender's inbox and every receiver's."""
    ids = list(AlarmRecipient.objects.filter(alarm=alarm).values_list("inbox_id", flat=True))
    if alarm.sender_user_id:
        ids.insert(0, store.inbox_for_user(alarm.sender_user).pk)
    return ids


def _broadcast(alarm, payload: dict, exclude=()):
    store.append([(i, payload["type"], payload, alarm.pk) for i in _audience_inboxes(alarm)
                  if i not in exclude])


def due_alarm_ids(now=None) -> list[int]:
    now = now or timezone.now()
    return list(Alarm.objects.filter(
        state__in=[Alarm.State.COUNTDOWN, Alarm.State.TRIGGERED, Alarm.State.ACKNOWLEDGED],
        next_deadline__lte=now).order_by("next_deadline").values_list("id", flat=True)[:100])


def next_deadline():
    return (Alarm.objects.filter(state__in=[Alarm.State.COUNTDOWN, Alarm.State.TRIGGERED,
                                            Alarm.State.ACKNOWLEDGED],
                                 next_deadline__isnull=False)
            .order_by("next_deadline").values_list("next_deadline", flat=True).first())


def advance(alarm_id: int, now=None) -> str:
    """Run whatever is due for one alarm: the end of its countdown or the next tier."""
    now = now or timezone.now()
    with transaction.atomic(), audit.acting_as(audit.Actor(user=None, label="Alarm-Server")):
        alarm = (Alarm.objects.select_for_update(of=("self",))
                 .select_related("template", "sender__unit", "sender_user",
                                 "room__floor__building__site")
                 .filter(pk=alarm_id).first())
        if alarm is None or alarm.next_deadline is None or alarm.next_deadline > now:
            return "not-due"
        alarm.next_deadline = None  # whatever happens below sets the next one
        if alarm.state == Alarm.State.COUNTDOWN:
            alarm.state = Alarm.State.TRIGGERED
            alarm.countdown_until = None
            alarm.save(update_fields=["state", "countdown_until"])
            AlarmTimeline.objects.create(alarm=alarm, kind="countdown_end",
                                         text="Vorlauf abgelaufen – Alarm geht raus")
            _dispatch(alarm, now)
            return "dispatched"
        if not alarm.is_open:
            alarm.next_deadline = None
            _bookkeep(alarm, "next_deadline")
            return "closed"
        if alarm.current_tier == 0:
            # Stored by trigger(), delivery handed to the engine (the sender was told).
            _dispatch(alarm, now, sender_told=True)
            return "dispatched"
        tier = alarm.plan.tiers.filter(order=alarm.current_tier).first() if alarm.plan_id else None
        coming = AlarmRecipient.objects.filter(alarm=alarm, response="coming").count()
        if tier is not None and coming >= tier.acks_needed:
            alarm.next_deadline = None
            _bookkeep(alarm, "next_deadline")
            return "satisfied"
        AlarmTimeline.objects.create(
            alarm=alarm, at=now, kind="escalated",
            text=f"Keine ausreichende Zusage in Stufe {alarm.current_tier} – nächste Stufe")
        _next_tiers(alarm, now, after=alarm.current_tier)
        return "escalated"


# --- Receivers' actions -----------------------------------------------------------------------

def _open_alarm(alarm_id) -> Alarm:
    alarm = (Alarm.objects.select_for_update(of=("self",))
             .select_related("template", "sender__unit", "room__floor__building__site")
             .filter(pk=alarm_id).first())
    if alarm is None:
        raise NotFound("Diesen Alarm gibt es nicht.")
    return alarm


def _participant(alarm, user) -> tuple[str, AlarmRecipient | None]:
    """('sender' | 'receiver' | 'security', recipient row) or AccessDenied."""
    if alarm.sender_user_id == user.pk:
        return "sender", None
    inbox = Inbox.objects.filter(user=user).first()
    recipient = (AlarmRecipient.objects.filter(alarm=alarm, inbox=inbox).first()
                 if inbox is not None else None)
    if recipient is not None:
        return "receiver", recipient
    if has_role(user, Role.SECURITY):
        return "security", None
    raise AccessDenied("Sie sind an diesem Alarm nicht beteiligt.")


def respond(user, alarm_id: int, response: str) -> AlarmRecipient:
    if response not in ("coming", "cannot"):
        raise InvalidInput("Antwort ist „coming“ oder „cannot“.", field="response")
    now = timezone.now()
    with transaction.atomic(), audit.acting_as(_actor(user)):
        alarm = _open_alarm(alarm_id)
        role, recipient = _participant(alarm, user)
        if role == "sender":
            raise InvalidInput("Auf den eigenen Alarm kann man nicht antworten.",
                               field="response")
        if not alarm.is_open or alarm.state == Alarm.State.COUNTDOWN:
            raise Conflict("Dieser Alarm ist nicht (mehr) aktiv.")
        if recipient is None:  # security joins an alarm it was not (yet) reached by
            inbox = store.inbox_for_user(user)
            recipient = AlarmRecipient.objects.create(alarm=alarm, inbox=inbox,
                                                      label=_label(user), tier=0, online=True,
                                                      notified_at=now)
            store.append([(inbox.pk, "alarm", payloads.alarm_event(
                alarm, role="receiver", tier=0, distance_m=None), alarm.pk)])
        if recipient.response == response:
            return recipient
        recipient.response = response
        recipient.responded_at = now
        recipient.save(update_fields=["response", "responded_at"])
        text = f"{recipient.label}: {'kommt' if response == 'coming' else 'kann nicht'}"
        AlarmTimeline.objects.create(alarm=alarm, at=now, kind="response", text=text,
                                     actor=recipient.label)
        audit.record("alarms.alarm.respond", obj=alarm, after={"response": response})
        if response == "coming":
            if alarm.first_ack_at is None:
                alarm.first_ack_at = now
            if alarm.state == Alarm.State.TRIGGERED:
                alarm.state = Alarm.State.ACKNOWLEDGED
            tier = alarm.plan.tiers.filter(order=alarm.current_tier).first() \
                if alarm.plan_id else None
            coming = AlarmRecipient.objects.filter(alarm=alarm, response="coming").count()
            if tier is None or coming >= tier.acks_needed:
                alarm.next_deadline = None
            alarm.save(update_fields=["first_ack_at", "state", "next_deadline"])
        listing = payloads.responders(alarm)
        _broadcast(alarm, payloads.update_event(
            alarm, "response", responder={"name": recipient.label, "response": response},
            responders=listing))
        if response == "coming" and alarm.sender_user_id:
            sender_inbox = store.inbox_for_user(alarm.sender_user)
            payload = payloads.update_event(alarm, "help_coming",
                                            text=f"Hilfe kommt: {recipient.label}",
                                            responders=listing)
            store.append([(sender_inbox.pk, "alarm_update", payload, alarm.pk)])
    return recipient


def post_message(user, alarm_id: int, text: str) -> AlarmMessage:
    text = (text or "").strip()
    if not text or len(text) > 1000:
        raise InvalidInput("Nachricht: 1 bis 1000 Zeichen.", field="text")
    if "\x00" in text:
        raise InvalidInput("Steuerzeichen (NUL) sind nicht erlaubt.", field="text")
    with transaction.atomic(), audit.acting_as(_actor(user)):
        alarm = _open_alarm(alarm_id)
        role, _ = _participant(alarm, user)
        message = AlarmMessage.objects.create(alarm=alarm, author=user, author_label=_label(user),
                                              text=text)
        AlarmTimeline.objects.create(alarm=alarm, kind="message",
                                     text=f"Nachricht von {message.author_label}",
                                     actor=message.author_label)
        _broadcast(alarm, payloads.message_event(message, role))
    return message


def update_position(user, lat, lon, accuracy_m=None, alarm_id: int | None = None) -> int:
    """A client's position; passed on to the helpers of open alarms this user sent."""
    lat, lon, acc = _check_position({"lat": lat, "lon": lon, "accuracy_m": accuracy_m})
    now = timezone.now()
    moved = 0
    with transaction.atomic(), audit.acting_as(_actor(user)):
        inbox = store.inbox_for_user(user)
        Inbox.objects.filter(pk=inbox.pk).update(lat=lat, lon=lon, accuracy_m=acc,
                                                 position_at=now)
        open_sent = Alarm.objects.select_for_update(of=("self",)).filter(
            sender_user=user, state__in=[Alarm.State.TRIGGERED, Alarm.State.ACKNOWLEDGED,
                                         Alarm.State.COUNTDOWN])
        if alarm_id is not None:
            open_sent = open_sent.filter(pk=alarm_id)
        for alarm in open_sent.select_related("template", "room"):
            alarm.lat, alarm.lon, alarm.accuracy_m = lat, lon, acc
            alarm.save(update_fields=["lat", "lon", "accuracy_m"])
            location = payloads.location_of(alarm)
            _broadcast(alarm, payloads.update_event(alarm, "position",
                                                    position=location["position"]))
            moved += 1
    return moved


def resolve(user, alarm_id: int, note: str = "") -> Alarm:
    """All-clear (Entwarnung): by the sender, a receiver, the security service or an admin."""
    note = (note or "").strip()[:500]
    with transaction.atomic(), audit.acting_as(_actor(user)):
        alarm = _open_alarm(alarm_id)
        if not has_role(user, Role.ADMIN):
            _participant(alarm, user)
        if not alarm.is_open:
            return alarm
        now = timezone.now()
        alarm.state = Alarm.State.RESOLVED
        alarm.resolved_at = now
        alarm.resolved_by = user
        alarm.resolve_note = note
        alarm.next_deadline = None
        alarm.save(update_fields=["state", "resolved_at", "resolved_by", "resolve_note",
                                  "next_deadline"])
        AlarmTimeline.objects.create(alarm=alarm, at=now, kind="resolved",
                                     text="Entwarnung" + (f": {note}" if note else ""),
                                     actor=_label(user))
        _broadcast(alarm, payloads.update_event(alarm, "resolved", by=_label(user), note=note))
    return alarm


def cancel(user, alarm_id: int) -> Alarm:
    with transaction.atomic(), audit.acting_as(_actor(user)):
        alarm = _open_alarm(alarm_id)
        if alarm.sender_user_id != user.pk:
            raise AccessDenied("Nur die auslösende Person kann den Vorlauf abbrechen.")
        if alarm.state == Alarm.State.CANCELLED:
            return alarm
        if alarm.state != Alarm.State.COUNTDOWN:
            raise Conflict("Der Alarm ist bereits ausgelöst; abbrechen geht nur im Vorlauf. "
                           "Bitte Entwarnung geben.")
        alarm.state = Alarm.State.CANCELLED
        alarm.next_deadline = None
        alarm.resolved_at = timezone.now()
        alarm.save(update_fields=["state", "next_deadline", "resolved_at"])
        AlarmTimeline.objects.create(alarm=alarm, kind="cancelled",
                                     text="Im Vorlauf abgebrochen", actor=_label(user))
        _broadcast(alarm, payloads.update_event(alarm, "cancelled"))
    return alarm


# --- Delivery bookkeeping (called by the engine) ----------------------------------------------

# Up to this many deliveries in one receipt batch are named one by one in the timeline.
TIMELINE_NAMES = 20


def _chunks(items, size=500):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def record_receipts(acks: dict[int, int]) -> int:
    """Receipts per inbox (highest event id). Marks first deliveries of alarms. -> deliveries."""
    if not acks:
        return 0
    now = timezone.now()
    delivered = 0
    with transaction.atomic(), audit.acting_as(audit.Actor(user=None, label="Alarm-Server")):
        previous = {}
        for chunk in _chunks(list(acks)):
            previous.update(Inbox.objects.filter(pk__in=chunk).values_list("id", "acked_seq"))
        moved = {i: s for i, s in acks.items() if i in previous and s > previous[i]}
        if not moved:
            return 0
        from django.db import connection

        with connection.cursor() as cursor:  # one statement, many rows: an Amok's receipts
            cursor.executemany(
                "UPDATE alarms_inbox SET acked_seq = %s WHERE id = %s AND acked_seq < %s",
                [(seq, inbox_id, seq) for inbox_id, seq in moved.items()])
        # Alarm events newly receipted: (alarm, inbox) pairs, found per chunk of inboxes (an
        # Amok alarm brings thousands of receipts at once).
        pairs = set()
        for chunk in _chunks(list(moved)):
            low = min(previous[i] for i in chunk)
            for alarm_id, inbox_id, seq in InboxEvent.objects.filter(
                    inbox_id__in=chunk, kind="alarm", seq__gt=low).values_list(
                    "alarm_id", "inbox_id", "seq"):
                if previous[inbox_id] < seq <= moved[inbox_id]:
                    pairs.add((alarm_id, inbox_id))
        if not pairs:
            return 0
        alarm_ids = {a for a, _ in pairs}
        rows = []
        for chunk in _chunks(list({i for _, i in pairs})):
            rows.extend(AlarmRecipient.objects.filter(
                alarm_id__in=alarm_ids, delivered_at__isnull=True, inbox_id__in=chunk)
                .values_list("pk", "alarm_id", "inbox_id", "label"))
        per_alarm: dict[int, list[str]] = {}
        done = []
        for pk, alarm_id, inbox_id, label in rows:
            if (alarm_id, inbox_id) in pairs:
                done.append(pk)
                per_alarm.setdefault(alarm_id, []).append(label)
        for chunk in _chunks(done):
            AlarmRecipient.objects.filter(pk__in=chunk).update(delivered_at=now)
        ops_metrics.observe_deliveries(done, now)  # /metrics: delivery latency
        # Each receiver's delivery time is on its recipient row; the timeline names them, or
        # sums them up when a whole building receipts at once.
        timeline = []
        for alarm_id, labels in per_alarm.items():
            if len(labels) <= TIMELINE_NAMES:
                timeline += [AlarmTimeline(alarm_id=alarm_id, at=now, kind="delivered",
                                           text=f"zugestellt an {label}") for label in labels]
            else:
                timeline.append(AlarmTimeline(
                    alarm_id=alarm_id, at=now, kind="delivered",
                    text=f"zugestellt an {len(labels)} Empfänger"))
        AlarmTimeline.objects.bulk_create(timeline, batch_size=500)
        delivered = len(done)
        for alarm in Alarm.objects.select_related("template", "sender_user").filter(
                pk__in=per_alarm):
            if alarm.first_delivered_at is None:
                alarm.first_delivered_at = now
                _bookkeep(alarm, "first_delivered_at")
            if alarm.sender_user_id and alarm.is_open:
                total = AlarmRecipient.objects.filter(alarm=alarm,
                                                      delivered_at__isnull=False).count()
                store.append([(store.inbox_for_user(alarm.sender_user).pk, "alarm_update",
                               payloads.update_event(alarm, "delivered", delivered=total),
                               alarm.pk)])
    return delivered


# --- Reading ----------------------------------------------------------------------------------

def can_see_all(user) -> bool:
    return has_role(user, Role.SECURITY, Role.ZKS, Role.ADMIN)


def get_alarm(user, alarm_id: int) -> Alarm:
    """One alarm for someone on it, or for security/ZKS/admin (audited read)."""
    alarm = (Alarm.objects.select_related("template", "sender__unit", "room__floor__building__site",
                                          "device").filter(pk=alarm_id).first())
    if alarm is None:
        raise NotFound("Diesen Alarm gibt es nicht.")
    if not can_see_all(user):
        _participant(alarm, user)
    with transaction.atomic():
        audit.record_read(alarm, actor=user, purpose="Alarm ansehen")
    return alarm


def active_for(user) -> list[Alarm]:
    inbox = Inbox.objects.filter(user=user).first()
    cond = Q(sender_user=user)
    if inbox is not None:
        cond |= Q(recipients__inbox=inbox)
    return list(Alarm.objects.filter(cond, state__in=[
        Alarm.State.COUNTDOWN, Alarm.State.TRIGGERED, Alarm.State.ACKNOWLEDGED]).distinct()
        .select_related("template", "sender__unit", "room__floor__building__site"))


def alarm_log(user, *, since=None, until=None, template=None, state=None):
    if not can_see_all(user):
        raise AccessDenied("Das Alarmprotokoll sehen nur Sicherheitsdienst, ZKS und "
                           "Administration.")
    qs = Alarm.objects.select_related("template", "sender__unit", "room__floor__building__site")
    if since:
        qs = qs.filter(triggered_at__gte=since)
    if until:
        qs = qs.filter(triggered_at__lt=until)
    if template:
        qs = qs.filter(template__code=template)
    if state:
        qs = qs.filter(state=state)
    return qs.annotate(n_recipients=Count("recipients", distinct=True),
                       n_coming=Count("recipients", filter=Q(recipients__response="coming"),
                                      distinct=True))


def templates():
    return AlarmTemplate.objects.filter(active=True)
