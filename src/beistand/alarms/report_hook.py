"""From an alarm to an incident report: "Vorfall melden" after the all-clear.

The report form (``/meldungen/neu/?alarm=<id>``) asks ``initial_for`` for its initial data:
time and room of the alarm, the sender as the person affected, the helpers who came as
witnesses. Only the alarm's sender and its helpers (answered "coming") get it. When the report
is saved, ``link_report`` stores it on the alarm (``Alarm.report``), in the transaction that
creates the report.

The reports app sits below alarms and does not import it: ``connect()`` (called from the
alarms app's ``ready()``) registers this as the report origin ``alarm``
(``beistand.reports.origins``).
"""

from django.db import transaction
from django.utils import timezone

from beistand.alarms.models import Alarm, AlarmRecipient, Inbox
from beistand.audit import services as audit
from beistand.core.errors import AccessDenied, NotFound
from beistand.reports import origins
from beistand.reports.forms import colleague_label


def _alarm_for(user, alarm_id: int) -> tuple[Alarm, str]:
    alarm = (Alarm.objects.select_related("template", "sender__unit", "room__floor__building")
             .filter(pk=alarm_id).first())
    if alarm is None:
        raise NotFound("Diesen Alarm gibt es nicht.")
    if alarm.sender_user_id == user.pk:
        return alarm, "sender"
    inbox = Inbox.objects.filter(user=user).first()
    if inbox is not None and AlarmRecipient.objects.filter(
            alarm=alarm, inbox=inbox, response=AlarmRecipient.Response.COMING).exists():
        return alarm, "helper"
    if inbox is None or not AlarmRecipient.objects.filter(alarm=alarm, inbox=inbox).exists():
        raise NotFound("Diesen Alarm gibt es nicht.")  # not on it: as for an unknown id
    raise AccessDenied("Eine Meldung aus diesem Alarm können nur die auslösende Person und "
                       "die Helferinnen und Helfer anlegen.")


def can_report(user, alarm: Alarm) -> bool:
    try:
        _alarm_for(user, alarm.pk)
    except (AccessDenied, NotFound):
        return False
    return True


def initial_for(user, alarm_id: int) -> dict:
    """Initial data for ``reports.forms.ReportForms`` (audited read of the alarm)."""
    alarm, role = _alarm_for(user, alarm_id)
    helpers = list(AlarmRecipient.objects.filter(
        alarm=alarm, response=AlarmRecipient.Response.COMING).select_related("inbox__user")
        .order_by("responded_at"))
    with transaction.atomic():
        audit.record_read(alarm, actor=user, purpose="Meldung aus dem Alarm vorbefüllen")
    local = timezone.localtime(alarm.triggered_at).replace(second=0, microsecond=0)
    main = {
        "occurred_at": local,
        "description": f"Stiller Alarm Nr. {alarm.pk} ({alarm.template.name}) um "
                       f"{local:%H:%M} Uhr.\n",
    }
    if alarm.room_id:
        main.update(location_kind="office", room=str(alarm.room_id))
    else:
        main.update(location_kind="field", address=alarm.location_text,
                    lat="" if alarm.lat is None else f"{alarm.lat:.6f}",
                    lon="" if alarm.lon is None else f"{alarm.lon:.6f}")
    victims = []
    if role == "helper":
        main["victim_self"] = False
        if alarm.sender_id:
            victims.append({"colleague": colleague_label(alarm.sender)})
    witnesses = []
    for helper in helpers:
        helper_user = helper.inbox.user
        if helper_user is not None and helper_user.pk == user.pk:
            continue
        employee = getattr(helper_user, "employee", None) if helper_user else None
        contact = ""
        if employee is not None:
            contact = ", ".join(x for x in (employee.service_phone, str(employee.unit)) if x)
        witnesses.append({"name": helper.label, "contact": contact[:200]})
    if role == "helper" and alarm.sender_id is None:
        main["victim_self"] = True
    return {"main": main, "victims": victims, "witnesses": witnesses}


def link_report(user, alarm_id: int, report) -> bool:
    """Store the new report on the alarm (if the user may and it has none yet); runs inside
    the transaction that creates the report."""
    try:
        alarm, _ = _alarm_for(user, alarm_id)
    except (AccessDenied, NotFound):
        return False
    with transaction.atomic():
        updated = Alarm.objects.filter(pk=alarm.pk, report__isnull=True).first()
        if updated is None:
            return False
        updated.report = report
        updated.save(update_fields=["report"])
    return True


ORIGIN = origins.Origin(name="alarm", initial=initial_for, link=link_report,
                        invalid_id="Ungültige Alarmnummer.")


def connect() -> None:
    """Make "Vorfall melden" after an alarm known to the report form (start-up)."""
    origins.register(ORIGIN)
