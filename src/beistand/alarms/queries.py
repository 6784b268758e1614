"""Reading alarms: one alarm for someone on it (an audited read), the open alarms of a person,
the alarm log for the security service, ZKS and the administration, the templates."""

from django.db import transaction
from django.db.models import Count, Q

from beistand.accounts.roles import Role
from beistand.accounts.services import has_role
from beistand.alarms import lifecycle, participants
from beistand.alarms.models import Alarm, AlarmTemplate, Inbox
from beistand.audit import services as audit
from beistand.core.errors import AccessDenied, NotFound


def can_see_all(user) -> bool:
    return has_role(user, Role.SECURITY, Role.ZKS, Role.ADMIN)


def get_alarm(user, alarm_id: int) -> Alarm:
    """One alarm for someone on it, or for security/ZKS/admin (audited read)."""
    alarm = (Alarm.objects.select_related("template", "sender__unit", "room__floor__building__site",
                                          "device").filter(pk=alarm_id).first())
    if alarm is None:
        raise NotFound("Diesen Alarm gibt es nicht.")
    if not can_see_all(user):
        participants.participant(alarm, user)
    with transaction.atomic():
        audit.record_read(alarm, actor=user, purpose="Alarm ansehen")
    return alarm


def active_for(user) -> list[Alarm]:
    inbox = Inbox.objects.filter(user=user).first()
    cond = Q(sender_user=user)
    if inbox is not None:
        cond |= Q(recipients__inbox=inbox)
    return list(Alarm.objects.filter(cond, state__in=lifecycle.OPEN).distinct()
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
