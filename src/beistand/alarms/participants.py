"""Who is on an alarm and how they are all told: the sender, the receivers reached by its tiers,
and the security service joining in. Used by the actions (respond, message, resolve, …), the
readers and dispatch."""

from beistand.accounts.roles import Role
from beistand.accounts.services import has_role
from beistand.alarms import store
from beistand.alarms.models import Alarm, AlarmRecipient, Inbox
from beistand.core.errors import NotFound


def lock_alarm(alarm_id) -> Alarm:
    """The alarm, locked for the caller's transaction (NotFound if there is none)."""
    alarm = (Alarm.objects.select_for_update(of=("self",), no_key=True)
             .select_related("template", "sender__unit", "room__floor__building__site")
             .filter(pk=alarm_id).first())
    if alarm is None:
        raise NotFound(NOT_FOUND)
    return alarm


NOT_FOUND = "Diesen Alarm gibt es nicht."


def participant(alarm, user) -> tuple[str, AlarmRecipient | None]:
    """('sender' | 'receiver' | 'security', recipient row) or NotFound: for someone not on the
    alarm it is the same answer as for an id that does not exist (issue 16, finding 13)."""
    if alarm.sender_user_id == user.pk:
        return "sender", None
    inbox = Inbox.objects.filter(user=user).first()
    recipient = (AlarmRecipient.objects.filter(alarm=alarm, inbox=inbox).first()
                 if inbox is not None else None)
    if recipient is not None:
        return "receiver", recipient
    if has_role(user, Role.SECURITY):
        return "security", None
    raise NotFound(NOT_FOUND)


def audience_inboxes(alarm) -> list[int]:
    """Everyone on the alarm: the sender's inbox and every receiver's."""
    ids = list(AlarmRecipient.objects.filter(alarm=alarm).values_list("inbox_id", flat=True))
    if alarm.sender_user_id:
        ids.insert(0, store.inbox_for_user(alarm.sender_user).pk)
    return ids


def broadcast(alarm, payload: dict, exclude=()):
    store.append([(i, payload["type"], payload, alarm.pk) for i in audience_inboxes(alarm)
                  if i not in exclude])
