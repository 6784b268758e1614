"""Receipts of a whole building at once (an Amok alarm): recorded in one pass, each receiver's
delivery once, without running into database expression limits."""

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from beistand.alarms import services, store
from beistand.alarms.models import AlarmRecipient, Inbox
from beistand.organisation.models import Employee

pytestmark = pytest.mark.django_db

N = 1500


def test_amok_receipts_of_many_receivers(people, org):
    User = get_user_model()
    with transaction.atomic():
        User.objects.bulk_create([User(username=f"b{i}", password="!") for i in range(N)])
        users = list(User.objects.filter(username__startswith="b"))
        Employee.objects.bulk_create([
            Employee(user=u, personnel_number=f"B{i}", last_name=f"B{i}", first_name="X",
                     unit=org["abt"], room=org["rooms"][i % 5]) for i, u in enumerate(users)])
    result = services.trigger(user=people["sender"], template="amok", source="desktop")
    recipients = AlarmRecipient.objects.filter(alarm=result.alarm)
    assert recipients.count() >= N
    acks = dict(Inbox.objects.filter(user__in=users).values_list("id", "last_seq"))
    assert services.record_receipts(acks) == N
    assert recipients.filter(inbox_id__in=acks, delivered_at__isnull=False).count() == N
    assert services.record_receipts(acks) == 0  # the same receipts again change nothing
    sender_events = store.events_after(store.inbox_for_user(people["sender"]).pk, 0)
    assert '"delivered": ' in sender_events[-1].payload
