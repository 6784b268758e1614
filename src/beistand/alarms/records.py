"""What an alarm's records say about who acted: names for the timeline, the audit actor, and
the delivery bookkeeping written on the alarm row (shared by trigger, dispatch, actions and
receipts)."""

from beistand.alarms.models import Alarm, clip
from beistand.audit import services as audit
from beistand.organisation import services as org

LABEL_MAX = 120  # a name in a timeline line, message or recipient list (fields hold 200)


def label(user) -> str:
    """A person's name as the alarm's timeline and messages show it."""
    return clip(org.display_name(user), LABEL_MAX)


def actor(user, device=None):
    """The audit actor of a step taken by a person, a device or the alarm server."""
    if user is not None:
        return audit.actor_for_user(user, remote_addr=audit.current_actor().remote_addr)
    if device is not None:
        return audit.Actor(user=None, label=f"Gerät {device.name}"[:200])
    return audit.Actor(user=None, label="Alarm-Server")


# Delivery bookkeeping on the alarm row, left out of its audit record (the alarm's timeline
# has it): written without the audit signal's read-before-write on the hot path.
BOOKKEEPING = frozenset({"plan", "current_tier", "next_deadline", "first_delivered_at"})


def bookkeep(alarm, *fields):
    assert BOOKKEEPING.issuperset(fields), fields
    Alarm.objects.filter(pk=alarm.pk).update(**{
        (f"{name}_id" if name == "plan" else name): getattr(
            alarm, f"{name}_id" if name == "plan" else name) for name in fields})
