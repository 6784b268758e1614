"""Dispatch and escalation: an alarm's first delivery (after its countdown, if any), the tiers
of its plan one after the other, and the fallbacks (SMS, Web Push, e-mail).

Escalation deadlines are stored on the alarm (``next_deadline``), so a restarted server resumes
them where they were: the engine of any server process calls ``advance`` for every due alarm
(``due_alarm_ids``). The events go through the store (durable, in the caller's transaction)
and reach live connections after commit.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from beistand.accounts.models import DeviceToken
from beistand.alarms import (
    calls,
    lifecycle,
    locations,
    participants,
    payloads,
    plans,
    presence,
    records,
    runtime,
    sms,
    store,
    webpush,
)
from beistand.alarms.models import (
    Alarm,
    AlarmRecipient,
    AlarmTemplate,
    AlarmTier,
    AlarmTimeline,
    Inbox,
    SmsMessage,
)
from beistand.audit import services as audit
from beistand.notify.services import enqueue_mail
from beistand.organisation.models import Employee


def send_to_sender(alarm, tier: int):
    """The sender's own clients get the alarm too (role "sender": no receive window)."""
    if alarm.sender_user_id is None:
        return
    inbox = store.inbox_for_user(alarm.sender_user)
    fresh = tier <= 1 and alarm.state != Alarm.State.ACKNOWLEDGED
    common = payloads.alarm_common(alarm, known_responders=[] if fresh else None)
    store.append([(inbox.pk, "alarm", payloads.alarm_event(alarm, role="sender", tier=tier,
                                                           distance_m=0, common=common),
                   alarm.pk)])


def deliver(alarm, now, sender_told=False, planned=None) -> int:
    """First delivery (after the countdown, if any). Returns receivers notified. ``planned``:
    when the delivery was due (the trigger, the countdown's end); the plan's deadlines count
    from it, also when a restarted server delivers late."""
    tpl = alarm.template
    audience = alarm.audience or tpl.audience
    if not sender_told:
        send_to_sender(alarm, tier=1)
    if audience == AlarmTemplate.Audience.SELF:
        alarm.next_deadline = None
        records.bookkeep(alarm, "next_deadline")
        return 0
    if audience in (AlarmTemplate.Audience.BUILDING, AlarmTemplate.Audience.SITE):
        members = plans.area_members(alarm.room, audience)
        notified, _ = _notify(alarm, members, tier_no=1, tier=None, now=now)
        alarm.current_tier = 1
        alarm.next_deadline = None
        records.bookkeep(alarm, "current_tier", "next_deadline")
        return notified
    employee = alarm.sender
    plan = plans.resolve_plan(alarm.room, employee.unit if employee else None)
    alarm.plan = plan
    records.bookkeep(alarm, "plan")
    return _next_tiers(alarm, now, after=0, planned=planned)


def _next_tiers(alarm, now, after: int, planned=None) -> int:
    """Notify the next tier after ``after``; tiers with nobody online are skipped at once, but
    never the plan's last tier (the last resort: SMS / control room). Past the last tier the
    plan is exhausted (``_exhaust``). The tier's deadline counts from ``planned`` (when this
    step was due), not from ``now``: a server that recovers after a crash keeps the plan's
    times, and a step it finds overdue follows at once."""
    start = min(planned, now) if planned is not None else now
    notified = 0
    tiers = list(alarm.plan.tiers.order_by("order")) if alarm.plan_id else []
    employee = alarm.sender
    for tier in (t for t in tiers if t.order > after):
        last = tier is tiers[-1]
        members = plans.tier_members(tier, room=alarm.room,
                                     unit=employee.unit if employee else None,
                                     lat=alarm.lat, lon=alarm.lon)
        count, online = _notify(alarm, members, tier_no=tier.order, tier=tier, now=now,
                                sms_offline=last)
        notified += count
        alarm.current_tier = tier.order
        if tier.order > 1:
            participants.broadcast(alarm, payloads.update_event(alarm, "escalated",
                                                                tier=tier.order))
        # Right after a server (re)start its clients are still reconnecting (backoff up to
        # 30 s): a tier that looks empty then waits its timeout instead of being skipped - a
        # press stored during the outage must not run through every tier to "rufen Sie 110"
        # seconds before the colleagues are back.
        if online == 0 and tier.kind != AlarmTier.Kind.EXTERNAL and not last \
                and not runtime.reconnecting(settings.ALARM_RECONNECT_GRACE_SECONDS):
            AlarmTimeline.objects.create(alarm=alarm, kind="skipped",
                                         text=f"Stufe {tier.order} ({tier.get_kind_display()}): "
                                              "niemand online – sofort weiter")
            continue
        if last and online == 0 and not _anyone_reached(alarm):
            # Nobody was online in any tier: the sender must not wait for the last resort.
            tell_nobody_coming(alarm, "unreached")
        if alarm.template.escalate:
            alarm.next_deadline = start + timedelta(seconds=tier.timeout_s)
        else:
            alarm.next_deadline = None
        records.bookkeep(alarm, "current_tier", "next_deadline")
        return notified
    return notified + _exhaust(alarm, now, tiers)


def _anyone_reached(alarm) -> bool:
    return AlarmRecipient.objects.filter(alarm=alarm).filter(
        Q(online=True) | Q(delivered_at__isnull=False)).exists()


def _delivered(alarm) -> int:
    return AlarmRecipient.objects.filter(alarm=alarm, delivered_at__isnull=False).count()


def tell_nobody_coming(alarm, reason: str) -> None:
    """"Niemand hat zugesagt – rufen Sie 110" to the sender's clients (in the caller's
    transaction; pushed after commit)."""
    if alarm.sender_user_id is None:
        return
    delivered = _delivered(alarm)
    if reason == "exhausted" and delivered == 0 and not _anyone_reached(alarm):
        reason = "unreached"
    inbox = store.inbox_for_user(alarm.sender_user)
    store.append([(inbox.pk, "alarm_update",
                   payloads.nobody_coming_event(alarm, reason=reason, delivered=delivered),
                   alarm.pk)])
    AlarmTimeline.objects.create(alarm=alarm, kind="nobody_coming",
                                 text="Auslösende/r informiert: "
                                      f"„{payloads.NOBODY_COMING_TEXT}“")
    sender = alarm.sender
    if alarm.source == Alarm.Source.SMS and sender is not None and sender.mobile_phone:
        # Raised by SMS (no data): the answer goes back the same way.
        now = timezone.now()
        SmsMessage.objects.create(
            direction=SmsMessage.Direction.OUT, alarm=alarm, state=SmsMessage.State.QUEUED,
            phone=sms.normalise_number(sender.mobile_phone)[:40], created_at=now,
            updated_at=now, next_attempt_at=now,
            text=f"Alarm Nr. {alarm.pk}: {payloads.NOBODY_COMING_TEXT}.")


def _exhaust(alarm, now, tiers) -> int:
    """Every tier tried and nobody coming: the alarm stays open, the sender is told to call
    110, the security service and the administrators are alerted, and the last tier is notified
    again every ``ALARM_RENOTIFY_MINUTES`` (``renotify``)."""
    coming = AlarmRecipient.objects.filter(alarm=alarm, response="coming").exists()
    AlarmTimeline.objects.create(
        alarm=alarm, at=now, kind="exhausted",
        text="Alle Stufen des Alarmplans sind ausgeschöpft" + (
            "." if coming else " – niemand hat zugesagt. Sicherheitsdienst und Administration "
                               "alarmiert."))
    if coming:
        alarm.next_deadline = None
        records.bookkeep(alarm, "current_tier", "next_deadline")
        return 0
    tell_nobody_coming(alarm, "exhausted")
    staff = plans.Members(user_ids=plans.security_user_ids() | plans.admin_user_ids())
    alarm.current_tier = tiers[-1].order if tiers else max(alarm.current_tier, 1)
    already = set(AlarmRecipient.objects.filter(alarm=alarm, inbox__user_id__in=staff.user_ids)
                  .exclude(response=AlarmRecipient.Response.CANNOT).values_list("pk", flat=True))
    notified, _ = _notify(alarm, staff, tier_no=alarm.current_tier, tier=None, now=now,
                          sms_offline=True, what="Sicherheitsdienst und Administration")
    if already:  # reached before (in an earlier tier): alerted again
        _remind(alarm, AlarmRecipient.objects.filter(pk__in=already), None, now)
    alarm.next_deadline = now + timedelta(minutes=settings.ALARM_RENOTIFY_MINUTES)
    records.bookkeep(alarm, "current_tier", "next_deadline")
    return notified


def renotify(alarm, now) -> int:
    """Notify the receivers of an exhausted alarm's last tier and the security service and
    administrators on it again (SMS, Web Push, e-mail, control room), every
    ``ALARM_RENOTIFY_MINUTES`` until someone comes or it is resolved. -> SMS queued."""
    tier = alarm.plan.tiers.filter(order=alarm.current_tier).first() if alarm.plan_id else None
    staff = plans.security_user_ids() | plans.admin_user_ids()
    rows = (AlarmRecipient.objects.filter(alarm=alarm)
            .filter(Q(tier=alarm.current_tier) | Q(inbox__user_id__in=staff))
            .exclude(response=AlarmRecipient.Response.CANNOT))
    sent = _remind(alarm, rows, tier, now)
    AlarmTimeline.objects.create(
        alarm=alarm, at=now, kind="renotified",
        text=f"Niemand hat zugesagt – erneute Benachrichtigung der letzten Stufe ({sent} SMS)")
    alarm.next_deadline = now + timedelta(minutes=settings.ALARM_RENOTIFY_MINUTES)
    records.bookkeep(alarm, "next_deadline")
    return sent


def _remind(alarm, recipients, tier, now) -> int:
    """SMS and Web Push again to receivers already on the alarm (and the tier's control room).
    -> SMS queued."""
    rows = list(recipients.values_list("inbox_id", "inbox__user_id", "inbox__device_id"))
    targets = {inbox: ("user", user) if user else ("device", device)
               for inbox, user, device in rows}
    info = _receiver_info(targets)
    sms_to = [(inbox, info[inbox][2]) for inbox in targets if info[inbox][2]]
    if tier is not None and tier.kind == AlarmTier.Kind.EXTERNAL and tier.external_phone:
        sms_to.append((None, tier.external_phone))
    if sms_to:
        # Due at once (also when a test drives the clock ahead of the wall clock).
        sms.queue_alarm_sms(alarm, sms_to, min(now, timezone.now()))
        AlarmRecipient.objects.filter(alarm=alarm, inbox_id__in=[i for i, _ in sms_to if i]
                                      ).update(sms_sent=True)
    if calls.enabled():  # and a call to those of them that are offline
        offline = set(targets) - presence.online_inboxes(targets)
        calls.queue_calls(alarm, [(i, p) for i, p in sms_to if i in offline],
                          min(now, timezone.now()))
    webpush.queue_alarm_push(alarm, [ref for kind, ref in targets.values() if kind == "user"],
                             now)
    if tier is not None and (tier.email or tier.kind == AlarmTier.Kind.EXTERNAL):
        _email(alarm, tier, targets)
    return len(sms_to)


def _notify(alarm, members, *, tier_no: int, tier, now, sms_offline: bool = False,
            what: str = "") -> tuple[int, int]:
    """Store the alarm for every new receiver of a tier; SMS/e-mail fallbacks. Offline receivers
    get an SMS at once when the tier says so or ``sms_offline`` (the last resort, the alerted
    staff). -> (new, online)."""
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
    connected = presence.online_inboxes(targets)
    # A receiver whose only connections are locked screens sees nothing: not reachable for
    # "wait for this tier" (and an SMS where offline receivers get one).
    locked = (presence.locked_seats(connected) if connected
              and settings.ALARM_LOCKED_SEAT_COUNTS_OFFLINE else set())
    online = connected - locked
    info = _receiver_info(targets)
    origin = payloads.alarm_point(alarm)
    # The event is the same for every receiver but for the distance: serialise it once.
    head = store.serialise(payloads.alarm_event(alarm, role="receiver", tier=tier_no,
                                                distance_m=None))[:-len(', "distance_m": null}')]
    recipients, events, sms_to = [], [], []
    for inbox_id in targets:
        label, point, mobile = info.get(inbox_id, ("Empfänger", locations.Point(), ""))
        is_online = inbox_id in online
        recipients.append((alarm.pk, inbox_id, label[:200], tier_no, inbox_id in connected, now,
                           "", False))
        distance = locations.distance_m(origin, point)
        events.append((inbox_id, "alarm",
                       f'{head}, "distance_m": {"null" if distance is None else distance}}}',
                       alarm.pk))
        wants_sms = (sms_offline and not is_online) or (tier is not None and (
            tier.sms_always or (tier.sms_when_offline and not is_online)))
        if wants_sms and mobile:
            sms_to.append((inbox_id, mobile))
    store.insert_rows("alarms_alarmrecipient",
                      ("alarm_id", "inbox_id", "label", "tier", "online", "notified_at",
                       "response", "sms_sent"), recipients)
    store.append(events)
    if sms_to:
        sms.queue_alarm_sms(alarm, sms_to, min(now, timezone.now()))
        AlarmRecipient.objects.filter(alarm=alarm, inbox_id__in=[i for i, _ in sms_to]).update(
            sms_sent=True)
    if sms_offline:  # the last resort also calls, where the gateway's call API is configured
        calls.queue_calls(alarm, [(i, info[i][2]) for i in targets
                                  if i not in online and i in info], min(now, timezone.now()))
    webpush.queue_alarm_push(alarm, [ref for kind, ref in targets.values() if kind == "user"],
                             now)
    if tier is not None and tier.kind == AlarmTier.Kind.EXTERNAL and tier.external_phone:
        sms.queue_alarm_sms(alarm, [(None, tier.external_phone)], now)
    if tier is not None and (tier.email or tier.kind == AlarmTier.Kind.EXTERNAL):
        _email(alarm, tier, targets)
    what = what or (tier.get_kind_display() if tier is not None
                    else alarm.template.get_audience_display())
    AlarmTimeline.objects.create(
        alarm=alarm, at=now, kind="notified",
        text=f"Stufe {tier_no} ({what}): {len(targets)} Empfänger, davon {len(online)} online"
             + (f", {len(locked)} mit gesperrtem Bildschirm" if locked else "")
             + (f", {len(sms_to)} SMS" if sms_to else ""))
    audit.record("alarms.alarm.notify", obj=alarm,
                 after={"tier": tier_no, "receivers": sorted(targets)})
    return len(targets), len(online)


def _receiver_info(targets) -> dict:
    """inbox id -> (label, point for distance, mobile number)."""
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


def due_alarm_ids(now=None) -> list[int]:
    now = now or timezone.now()
    return list(Alarm.objects.filter(
        state__in=lifecycle.OPEN,
        next_deadline__lte=now).order_by("next_deadline").values_list("id", flat=True)[:100])


def next_deadline():
    return (Alarm.objects.filter(state__in=lifecycle.OPEN,
                                 next_deadline__isnull=False)
            .order_by("next_deadline").values_list("next_deadline", flat=True).first())


def advance(alarm_id: int, now=None) -> str:
    """Run whatever is due for one alarm: the end of its countdown or the next tier."""
    now = now or timezone.now()
    with transaction.atomic(), audit.acting_as(audit.Actor(user=None, label="Alarm-Server")):
        alarm = (Alarm.objects.select_for_update(of=("self",), no_key=True)
                 .select_related("template", "sender__unit", "sender_user",
                                 "room__floor__building__site")
                 .filter(pk=alarm_id).first())
        if alarm is None or alarm.next_deadline is None or alarm.next_deadline > now:
            return "not-due"
        # The plan's time of this step: the next deadline counts from it, not from now (a
        # server restarted after a crash delivers late, but escalates at the planned times).
        planned = alarm.next_deadline
        alarm.next_deadline = None  # whatever happens below sets the next one
        if lifecycle.allows(alarm.state, lifecycle.Event.COUNTDOWN_END):
            lifecycle.move(alarm, lifecycle.Event.COUNTDOWN_END)
            alarm.countdown_until = None
            alarm.save(update_fields=["state", "countdown_until"])
            AlarmTimeline.objects.create(alarm=alarm, kind="countdown_end",
                                         text="Vorlauf abgelaufen – Alarm geht raus")
            if alarm.sender_user_id:
                # The sender's clients have this alarm since the countdown began (one alarm
                # event, with countdown_until): they learn that it went out, not a second alarm.
                store.append([(store.inbox_for_user(alarm.sender_user).pk, "alarm_update",
                               payloads.update_event(alarm, "countdown_end"), alarm.pk)])
            deliver(alarm, now, sender_told=True, planned=planned)
            return "dispatched"
        if not alarm.is_open:
            alarm.next_deadline = None
            records.bookkeep(alarm, "next_deadline")
            return "closed"
        if alarm.current_tier == 0:
            # Stored by trigger(), delivery handed to the engine (the sender was told).
            deliver(alarm, now, sender_told=True, planned=planned)
            return "dispatched"
        tier = alarm.plan.tiers.filter(order=alarm.current_tier).first() if alarm.plan_id else None
        coming = AlarmRecipient.objects.filter(alarm=alarm, response="coming").count()
        if (tier is not None and coming >= tier.acks_needed) or (tier is None and coming):
            alarm.next_deadline = None
            records.bookkeep(alarm, "next_deadline")
            return "satisfied"
        if AlarmTimeline.objects.filter(alarm=alarm, kind="exhausted").exists():
            renotify(alarm, now)
            return "renotified"
        AlarmTimeline.objects.create(
            alarm=alarm, at=now, kind="escalated",
            text=f"Keine ausreichende Zusage in Stufe {alarm.current_tier} – nächste Stufe")
        _next_tiers(alarm, now, after=alarm.current_tier, planned=planned)
        return "escalated"
