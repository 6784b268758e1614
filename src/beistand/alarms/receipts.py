"""Receipts: clients confirm the events they processed (per inbox, the highest event id). The
engine hands them over in batches; the first receipt of an alarm event marks that receiver's
delivery (recipient row, timeline, the sender's "delivered" count, the latency metric)."""

from django.db import connection, transaction
from django.utils import timezone

from beistand.alarms import metrics, payloads, records, store
from beistand.alarms.models import Alarm, AlarmRecipient, AlarmTimeline, Inbox, InboxEvent
from beistand.audit import services as audit

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
        moved = {i: s for i, s in sorted(acks.items()) if i in previous and s > previous[i]}
        if not moved:
            return 0
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
        alarm_ids = {a for a, _ in pairs}
        # Lock order of the whole alarm path: alarms (by id), then inboxes (by id). Writing the
        # inbox rows first deadlocked with an all-clear that holds the alarm and appends to
        # those inboxes (PostgreSQL).
        for chunk in _chunks(sorted(alarm_ids)):
            list(Alarm.objects.select_for_update(no_key=True).filter(pk__in=chunk)
                 .order_by("pk").values_list("pk", flat=True))
        with connection.cursor() as cursor:  # one statement, many rows: an Amok's receipts
            cursor.executemany(
                "UPDATE alarms_inbox SET acked_seq = %s WHERE id = %s AND acked_seq < %s",
                [(seq, inbox_id, seq) for inbox_id, seq in moved.items()])
        if not pairs:
            return 0
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
        metrics.observe_deliveries(done, now)  # /metrics: delivery latency
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
                records.bookkeep(alarm, "first_delivered_at")
            if alarm.sender_user_id and alarm.is_open:
                total = AlarmRecipient.objects.filter(alarm=alarm,
                                                      delivered_at__isnull=False).count()
                store.append([(store.inbox_for_user(alarm.sender_user).pk, "alarm_update",
                               payloads.update_event(alarm, "delivered", delivered=total),
                               alarm.pk)])
    return delivered
