"""What people do on a running alarm: respond ("coming" / "cannot"), write in its thread, move
its position, give the all-clear, break off the countdown. State changes go through the
lifecycle table (``lifecycle.move``); every action owns its transaction and tells everyone on
the alarm through the store."""

from django.db import transaction
from django.utils import timezone

from beistand.accounts.roles import Role
from beistand.accounts.services import has_role
from beistand.alarms import lifecycle, locations, participants, payloads, plans, records, store
from beistand.alarms.models import (
    Alarm,
    AlarmMessage,
    AlarmRecipient,
    AlarmTemplate,
    AlarmTimeline,
    Inbox,
)
from beistand.audit import services as audit
from beistand.core.errors import AccessDenied, Conflict, InvalidInput

# How an answer came in, as the timeline and the audit trail name it ("app": app, web page,
# desktop client over HTTP or WebSocket).
VIA = {"app": "", "sms": " (per SMS)", "link": " (per SMS-Link)", "call": " (per Anruf)"}


def respond(user, alarm_id: int, response: str, via: str = "app") -> AlarmRecipient:
    if response not in ("coming", "cannot"):
        raise InvalidInput("Antwort ist „coming“ oder „cannot“.", field="response")
    now = timezone.now()
    with transaction.atomic(), audit.acting_as(records.actor(user)):
        alarm = participants.lock_alarm(alarm_id)
        role, recipient = participants.participant(alarm, user)
        if role == "sender":
            raise InvalidInput("Auf den eigenen Alarm kann man nicht antworten.",
                               field="response")
        if not lifecycle.allows(alarm.state, lifecycle.Event.ACKNOWLEDGE):
            raise Conflict(lifecycle.REFUSED[lifecycle.Event.ACKNOWLEDGE])
        if response == "coming" and not alarm.template.come:
            # Amok and the like: nobody is to come, so there is no "Ich komme" (and the sender
            # is never told "Hilfe kommt"); clients show "Verstanden" locally.
            raise InvalidInput(f"Bei „{alarm.template.name}“ soll niemand zum Ort kommen: eine "
                               "Zusage „Ich komme“ gibt es nicht. Bitte den Anweisungen "
                               "folgen.", field="response")
        if recipient is None:  # security joins an alarm it was not (yet) reached by
            inbox = store.inbox_for_user(user)
            recipient = AlarmRecipient.objects.create(alarm=alarm, inbox=inbox,
                                                      label=records.label(user), tier=0,
                                                      online=True, notified_at=now)
            store.append([(inbox.pk, "alarm", payloads.alarm_event(
                alarm, role="receiver", tier=0, distance_m=None), alarm.pk)])
        if recipient.response == response:
            return recipient
        recipient.response = response
        recipient.responded_at = now
        fields = ["response", "responded_at"]
        if recipient.delivered_at is None:
            # An answer proves delivery: delivered_at is never later than the answer (the
            # receipt of the alarm event, written in batches, may still be on its way).
            recipient.delivered_at = now
            fields.append("delivered_at")
            if alarm.first_delivered_at is None:
                alarm.first_delivered_at = now
                records.bookkeep(alarm, "first_delivered_at")
        recipient.save(update_fields=fields)
        text = (f"{recipient.label}: {'kommt' if response == 'coming' else 'kann nicht'}"
                f"{VIA.get(via, '')}")
        AlarmTimeline.objects.create(alarm=alarm, at=now, kind="response", text=text,
                                     actor=recipient.label)
        audit.record("alarms.alarm.respond", obj=alarm,
                     after={"response": response, "via": via})
        if response == "coming":
            if alarm.first_ack_at is None:
                alarm.first_ack_at = now
            lifecycle.move(alarm, lifecycle.Event.ACKNOWLEDGE)
            tier = alarm.plan.tiers.filter(order=alarm.current_tier).first() \
                if alarm.plan_id else None
            coming = AlarmRecipient.objects.filter(alarm=alarm, response="coming").count()
            if tier is None or coming >= tier.acks_needed:
                alarm.next_deadline = None
            alarm.save(update_fields=["first_ack_at", "state", "next_deadline"])
        listing = payloads.responders(alarm)
        update = payloads.update_event(
            alarm, "response", responder={"name": recipient.label, "response": response},
            responders=listing)
        rows = [(i, "alarm_update", update, alarm.pk)
                for i in participants.audience_inboxes(alarm)]
        # The answering person's own devices (second PC, phone, a device bound to them) fall
        # silent by this event, not by comparing names (docs/alarm-protocol.md "own_answer").
        rows.append((recipient.inbox_id, "alarm_update", payloads.update_event(
            alarm, "own_answer", response=response, at=payloads.iso(now)), alarm.pk))
        store.append(rows)
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
    with transaction.atomic(), audit.acting_as(records.actor(user)):
        alarm = participants.lock_alarm(alarm_id)
        role, _ = participants.participant(alarm, user)
        if alarm.state not in lifecycle.OPEN:
            # The thread ends with the alarm: after the all-clear (or a cancelled countdown)
            # nobody is listening for it any more.
            raise Conflict("Dieser Alarm ist beendet: Nachrichten sind nicht mehr möglich.")
        message = AlarmMessage.objects.create(alarm=alarm, author=user,
                                              author_label=records.label(user), text=text)
        AlarmTimeline.objects.create(alarm=alarm, kind="message",
                                     text=f"Nachricht von {message.author_label}",
                                     actor=message.author_label)
        participants.broadcast(alarm, payloads.message_event(message, role))
    return message


def update_position(user, lat, lon, accuracy_m=None, alarm_id: int | None = None) -> int:
    """A client's position; passed on to the helpers of open alarms this user sent."""
    lat, lon, acc = locations.check_position({"lat": lat, "lon": lon, "accuracy_m": accuracy_m})
    now = timezone.now()
    moved = 0
    with transaction.atomic(), audit.acting_as(records.actor(user)):
        # Lock order as everywhere on the alarm path: alarms (by id) first, then inboxes. The
        # inbox row written before the alarm lock deadlocked with a dispatch that holds the
        # alarm and appends to this inbox (PostgreSQL, found by the phone app's browser test).
        open_sent = Alarm.objects.select_for_update(of=("self",), no_key=True).filter(
            sender_user=user, state__in=lifecycle.OPEN)
        if alarm_id is not None:
            open_sent = open_sent.filter(pk=alarm_id)
        alarms = list(open_sent.select_related("template", "room").order_by("pk"))
        inbox = store.inbox_for_user(user)
        Inbox.objects.filter(pk=inbox.pk).update(lat=lat, lon=lon, accuracy_m=acc,
                                                 position_at=now)
        for alarm in alarms:
            alarm.lat, alarm.lon, alarm.accuracy_m = lat, lon, acc
            alarm.save(update_fields=["lat", "lon", "accuracy_m"])
            location = payloads.location_of(alarm)
            participants.broadcast(alarm, payloads.update_event(alarm, "position",
                                                    position=location["position"]))
            moved += 1
    return moved


# Templates whose alarm reaches a whole building or site (Amok): only the security service or
# the role the plan names may call them off.
BUILDING_WIDE = frozenset({AlarmTemplate.Audience.BUILDING, AlarmTemplate.Audience.SITE})


def building_wide(alarm) -> bool:
    return (alarm.audience or alarm.template.audience) in BUILDING_WIDE


def check_all_clear(alarm, user) -> None:
    """The one rule of who may call an alarm off (all-clear), for every entry point: the
    security service always; for an Amok or building-wide alarm otherwise only the role named
    in the plan (``AlarmPlan.all_clear_role``); for any other alarm the sender and a helper who
    said "Ich komme". Everyone else: ``AccessDenied`` with the German reason."""
    if has_role(user, Role.SECURITY):
        return
    if building_wide(alarm):
        plan = alarm.plan if alarm.plan_id else plans.resolve_plan(
            alarm.room, alarm.sender.unit if alarm.sender_id else None)
        if plan is not None and plan.all_clear_role and has_role(user, plan.all_clear_role):
            return
        raise AccessDenied(f"Einen {alarm.template.name}-Alarm kann nur der Sicherheitsdienst"
                           + (f" oder die Rolle „{Role(plan.all_clear_role).label}“"
                              if plan is not None and plan.all_clear_role else "")
                           + " beenden.")
    if alarm.sender_user_id is not None and alarm.sender_user_id == user.pk:
        return
    if AlarmRecipient.objects.filter(alarm=alarm, inbox__user=user, response="coming").exists():
        return
    raise AccessDenied("Entwarnung geben können nur die auslösende Person, wer „Ich komme“ "
                       "zugesagt hat, und der Sicherheitsdienst.")


def resolve(user, alarm_id: int, note: str = "") -> Alarm:
    """All-clear (Entwarnung), by those ``check_all_clear`` allows. The timeline and the event
    to everyone on the alarm (the sender included) name who gave it."""
    note = (note or "").strip()[:500]
    with transaction.atomic(), audit.acting_as(records.actor(user)):
        alarm = participants.lock_alarm(alarm_id)
        try:
            check_all_clear(alarm, user)
        except AccessDenied:
            # Someone not on the alarm learns nothing, not even that it exists (404 as for
            # an unknown id); someone on it learns why not.
            participants.participant(alarm, user)
            raise
        if not alarm.is_open:
            return alarm
        now = timezone.now()
        by = records.label(user)
        lifecycle.move(alarm, lifecycle.Event.RESOLVE)
        alarm.resolved_at = now
        alarm.resolved_by = user
        alarm.resolve_note = note
        alarm.next_deadline = None
        alarm.save(update_fields=["state", "resolved_at", "resolved_by", "resolve_note",
                                  "next_deadline"])
        AlarmTimeline.objects.create(alarm=alarm, at=now, kind="resolved",
                                     text=f"Entwarnung durch {by}"
                                          + (f": {note}" if note else ""),
                                     actor=by)
        audit.record("alarms.alarm.resolve", obj=alarm, after={"note": note})
        participants.broadcast(alarm, payloads.update_event(
            alarm, "resolved", by=by, note=note))
    return alarm


def cancel(user, alarm_id: int) -> Alarm:
    with transaction.atomic(), audit.acting_as(records.actor(user)):
        alarm = participants.lock_alarm(alarm_id)
        if alarm.sender_user_id != user.pk:
            participants.participant(alarm, user)  # not on it: 404 as for an unknown id
            raise AccessDenied("Nur die auslösende Person kann den Vorlauf abbrechen.")
        if alarm.state == Alarm.State.CANCELLED:
            return alarm
        lifecycle.move(alarm, lifecycle.Event.CANCEL,
                       refused="Der Alarm ist bereits ausgelöst; abbrechen geht nur im Vorlauf. "
                               "Bitte Entwarnung geben.")
        alarm.next_deadline = None
        alarm.resolved_at = timezone.now()
        alarm.save(update_fields=["state", "next_deadline", "resolved_at"])
        AlarmTimeline.objects.create(alarm=alarm, kind="cancelled",
                                     text="Im Vorlauf abgebrochen", actor=records.label(user))
        participants.broadcast(alarm, payloads.update_event(alarm, "cancelled"))
    return alarm


def end_test_alarm(alarm_id: int) -> None:
    """All-clear of a Probealarm by the function test (``alarm test``), so no receive window
    stays open."""
    with transaction.atomic():
        alarm = (Alarm.objects.select_for_update(no_key=True).select_related("template")
                 .get(pk=alarm_id))
        if not alarm.is_open:
            return
        lifecycle.move(alarm, lifecycle.Event.RESOLVE)
        alarm.resolved_at = timezone.now()
        alarm.resolve_note = "Probealarm beendet"
        alarm.next_deadline = None
        alarm.save(update_fields=["state", "resolved_at", "resolve_note", "next_deadline"])
        AlarmTimeline.objects.create(alarm=alarm, kind="resolved",
                                     text="Probealarm beendet (Funktionstest)",
                                     actor="beistand alarm test")
        participants.broadcast(alarm, payloads.update_event(
            alarm, "resolved", by="Funktionstest", note="Probealarm beendet"))
