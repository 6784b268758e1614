"""Resetting one inbox's numbering (``beistand alarm reset-inbox``): the inbox gets a new
``epoch``, so every client of it - connected or resuming later - is told to ``reset`` and then
receives every event it has no receipt for (docs/alarm-protocol.md, "Inbox epoch").

For an administrator after a device was re-paired, a phone restored from a backup, or a client
whose numbering is stuck. Audited. Connected clients, in any server process, are closed with
4409 by their server's sweep (it reads the inbox's new epoch) and get the ``reset`` frame when
they resume with the old epoch.
"""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from beistand.accounts.models import DeviceToken
from beistand.alarms import store
from beistand.alarms.models import Inbox
from beistand.audit import services as audit
from beistand.core.errors import InvalidInput, NotFound


def find_inbox(*, inbox_id: int | None = None, username: str | None = None,
               device_id: int | None = None) -> Inbox:
    """The inbox of exactly one of: its number, a person (user name), a device (its id; a
    device bound to a person receives in that person's inbox)."""
    if sum(x is not None for x in (inbox_id, username, device_id)) != 1:
        raise InvalidInput("Genau eines angeben: Postfach, Person oder Gerät.")
    if inbox_id is not None:
        box = Inbox.objects.filter(pk=inbox_id).first()
    elif username is not None:
        user = get_user_model()._default_manager.filter(username=username).first()
        if user is None:
            raise NotFound(f"Person „{username}“ gibt es nicht.")
        box = store.inbox_for_user(user)
    else:
        device = DeviceToken.objects.filter(pk=device_id).select_related("user").first()
        if device is None:
            raise NotFound(f"Gerät {device_id} gibt es nicht.")
        box = (store.inbox_for_user(device.user) if device.user_id
               else Inbox.objects.filter(device=device).first())
    if box is None:
        raise NotFound("Dieses Postfach gibt es nicht (noch kein Empfang).")
    return box


def reset_inbox(inbox: Inbox, *, reason: str, actor=None) -> str:
    """Give ``inbox`` a new epoch (audited). Returns the new epoch."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Bitte einen Grund angeben.", field="reason")
    with transaction.atomic():
        before = Inbox.objects.select_for_update().get(pk=inbox.pk)
        store.renew_epochs([inbox.pk])
        Inbox.objects.filter(pk=inbox.pk).update(updated_at=timezone.now())
        after = Inbox.objects.get(pk=inbox.pk)
        audit.record("alarms.inbox.reset", object_type="alarms.inbox", object_id=inbox.pk,
                     object_repr=str(after), actor=actor, purpose=reason[:500],
                     before={"epoch": before.epoch, "last_event_id": before.last_seq},
                     after={"epoch": after.epoch, "last_event_id": after.last_seq})
    return after.epoch
