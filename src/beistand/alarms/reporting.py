"""What the alarm log pages show: the filtered list, statistics, the CSV export and one alarm's
timeline and recipients. Built on ``services.alarm_log`` / ``services.get_alarm`` (role checks);
every read of alarm personal data is recorded in the audit trail, like ``services.get_alarm``.
"""

import io
import math
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from beistand.alarms import locations, payloads, services, sms
from beistand.alarms.models import Alarm, AlarmTemplate, Inbox
from beistand.audit import services as audit
from beistand.core.errors import InvalidInput
from beistand.core.spreadsheet import csv_writer

# Rows shown on the log page; the CSV file holds all.
PAGE_SIZE = 200
MONTHS = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
          "Oktober", "November", "Dezember"]
TIMELINE_LABELS = {
    "triggered": "Ausgelöst", "countdown_end": "Vorlauf abgelaufen", "delivered": "Zugestellt",
    "response": "Antwort", "escalated": "Eskaliert", "skipped": "Stufe übersprungen",
    "exhausted": "Alarmplan ausgeschöpft", "message": "Nachricht", "resolved": "Entwarnung",
    "cancelled": "Abgebrochen", "sms": "SMS", "notified": "Benachrichtigt",
}
RESPONSE_LABELS = {"coming": "kommt", "cannot": "kann nicht", "": "keine Antwort"}


@dataclass
class LogFilter:
    since: date | None = None
    until: date | None = None
    template: str = ""
    state: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.errors

    def as_text(self) -> dict:
        return {"von": self.since.isoformat() if self.since else "",
                "bis": self.until.isoformat() if self.until else "",
                "vorlage": self.template, "status": self.state}


def _parse_date(value: str) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(value)


def parse_filter(params) -> LogFilter:
    """The log's GET parameters ``von``, ``bis``, ``vorlage``, ``status`` (German errors)."""
    result = LogFilter()
    for name, attr in (("von", "since"), ("bis", "until")):
        try:
            setattr(result, attr, _parse_date(params.get(name, "")))
        except ValueError:
            result.errors[name] = "Bitte ein gültiges Datum angeben (TT.MM.JJJJ)."
    if result.since and result.until and result.since > result.until:
        result.errors["bis"] = "Das Ende liegt vor dem Beginn des Zeitraums."
    template = (params.get("vorlage") or "").strip()
    if template and not AlarmTemplate.objects.filter(code=template).exists():
        result.errors["vorlage"] = "Diese Alarmvorlage gibt es nicht."
    else:
        result.template = template
    state = (params.get("status") or "").strip()
    if state and state not in Alarm.State.values:
        result.errors["status"] = "Diesen Status gibt es nicht."
    else:
        result.state = state
    return result


def _bounds(flt: LogFilter):
    tz = timezone.get_current_timezone()
    since = datetime.combine(flt.since, time.min, tz) if flt.since else None
    until = datetime.combine(flt.until + timedelta(days=1), time.min, tz) if flt.until else None
    return since, until


def _query(user, flt: LogFilter):
    if not flt.valid:
        raise InvalidInput("; ".join(flt.errors.values()))
    since, until = _bounds(flt)
    return services.alarm_log(user, since=since, until=until, template=flt.template or None,
                              state=flt.state or None)


def _seconds(start, end) -> int | None:
    if start is None or end is None:
        return None
    return max(0, round((end - start).total_seconds()))


def _local(value) -> str:
    return timezone.localtime(value).strftime("%d.%m.%Y %H:%M:%S") if value else ""


def row(alarm: Alarm) -> dict:
    location = payloads.location_of(alarm)
    return {
        "id": alarm.pk, "at": _local(alarm.triggered_at), "iso": alarm.triggered_at.isoformat(),
        "template": alarm.template.name, "template_code": alarm.template.code,
        "test": alarm.template.test, "state": alarm.get_state_display(),
        "state_code": alarm.state, "source": alarm.get_source_display(),
        "sender": payloads.sender_info(alarm)["name"],
        "unit": alarm.sender.unit.code if alarm.sender_id and alarm.sender.unit_id else "",
        "location": locations.one_line(location),
        "recipients": getattr(alarm, "n_recipients", None),
        "coming": getattr(alarm, "n_coming", None),
        "first_delivery_s": _seconds(alarm.triggered_at, alarm.first_delivered_at),
        "first_ack_s": _seconds(alarm.triggered_at, alarm.first_ack_at),
        "resolved": _local(alarm.resolved_at), "report_id": alarm.report_id,
    }


def log(user, flt: LogFilter) -> tuple[list[dict], int]:
    """The filtered log (newest first, at most PAGE_SIZE rows) and the total; audited."""
    qs = _query(user, flt).order_by("-triggered_at")
    with transaction.atomic():
        total = qs.count()
        alarms = list(qs[:PAGE_SIZE])
        audit.record("alarms.alarm.log_read", object_type="alarms.alarm",
                     object_repr="Alarmprotokoll", actor=user, purpose="Alarmprotokoll ansehen",
                     after={"filters": flt.as_text(), "count": total,
                            "shown": [a.pk for a in alarms]})
    return [row(a) for a in alarms], total


def read_log(user, *, since=None, until=None, template=None, state=None,
             limit: int = 500) -> list[Alarm]:
    """The API's alarm log (``GET /api/v1/alarms``): at most ``limit`` alarms, read and audited
    in one transaction like the page's ``log`` (``alarms.alarm.log_read`` with the ids shown)."""
    qs = services.alarm_log(user, since=since, until=until, template=template, state=state)
    with transaction.atomic():
        alarms = list(qs[:limit])
        audit.record("alarms.alarm.log_read", object_type="alarms.alarm",
                     object_repr="Alarmprotokoll", actor=user, purpose="Alarmprotokoll ansehen",
                     after={"filters": {"from": since.isoformat() if since else None,
                                        "to": until.isoformat() if until else None,
                                        "template": template, "state": state},
                            "count": len(alarms), "shown": [a.pk for a in alarms]})
    return alarms


CSV_HEADERS = ["Nr.", "Ausgelöst", "Vorlage", "Probealarm", "Status", "Quelle",
               "Auslösende Person", "Einheit", "Ort", "Empfänger", "Zusagen „kommt“",
               "Erste Zustellung nach (s)", "Erste Zusage nach (s)", "Beendet", "Meldung"]


def export_csv(user, flt: LogFilter) -> str:
    """The whole filtered log as CSV (';'-separated for German spreadsheets); audited."""
    qs = _query(user, flt).order_by("triggered_at")
    with transaction.atomic():
        alarms = list(qs)
        audit.record("alarms.alarm.log_export", object_type="alarms.alarm",
                     object_repr="Alarmprotokoll", actor=user, purpose="Alarmprotokoll "
                     "exportieren", after={"filters": flt.as_text(), "count": len(alarms)})
    out = io.StringIO()
    writer = csv_writer(out)  # formulas and bidi controls neutralised (core.spreadsheet)
    writer.writerow(CSV_HEADERS)
    for alarm in alarms:
        r = row(alarm)
        writer.writerow([r["id"], r["at"], r["template"], "ja" if r["test"] else "nein",
                         r["state"], r["source"], r["sender"], r["unit"], r["location"],
                         r["recipients"], r["coming"],
                         "" if r["first_delivery_s"] is None else r["first_delivery_s"],
                         "" if r["first_ack_s"] is None else r["first_ack_s"], r["resolved"],
                         r["report_id"] or ""])
    return out.getvalue()


# --- Statistics -------------------------------------------------------------------------------

def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def is_unanswered(alarm: Alarm) -> bool:
    """No "coming" before the all-clear, or still open without one. Only alarms that ask
    receivers to come count (not test alarms, not Amok); cancelled countdowns never do."""
    if alarm.template.test or not alarm.template.come or alarm.state == Alarm.State.CANCELLED:
        return False
    if alarm.first_ack_at is None:
        return True
    return alarm.resolved_at is not None and alarm.first_ack_at > alarm.resolved_at


def compute_statistics(alarms) -> dict:
    """Figures for a set of alarms: per month, time to first "coming", unanswered alarms."""
    per_month: dict[tuple[int, int], dict] = {}
    ack_seconds: list[float] = []
    unanswered = []
    real = tests = cancelled = 0
    for alarm in alarms:
        local = timezone.localtime(alarm.triggered_at)
        month = per_month.setdefault((local.year, local.month),
                                     {"label": f"{MONTHS[local.month - 1]} {local.year}",
                                      "total": 0, "real": 0, "test": 0})
        month["total"] += 1
        if alarm.template.test:
            month["test"] += 1
            tests += 1
        elif alarm.state == Alarm.State.CANCELLED:
            cancelled += 1
        else:
            month["real"] += 1
            real += 1
        # A "coming" after the all-clear is no acknowledgement of the emergency.
        if (alarm.first_ack_at is not None and not alarm.template.test
                and alarm.state != Alarm.State.CANCELLED
                and (alarm.resolved_at is None or alarm.first_ack_at <= alarm.resolved_at)):
            ack_seconds.append((alarm.first_ack_at - alarm.triggered_at).total_seconds())
        if is_unanswered(alarm):
            unanswered.append(alarm)
    median = statistics.median(ack_seconds) if ack_seconds else None
    p90 = percentile(ack_seconds, 90)
    return {
        "total": real + tests + cancelled, "real": real, "test": tests, "cancelled": cancelled,
        "months": [per_month[k] for k in sorted(per_month)],
        "acknowledged": len(ack_seconds),
        "ack_median_s": None if median is None else round(median, 1),
        "ack_p90_s": None if p90 is None else round(p90, 1),
        "unanswered": len(unanswered),
        "unanswered_ids": [a.pk for a in unanswered][:50],
    }


def log_statistics(user, flt: LogFilter) -> dict:
    """Statistics over the whole filtered log (no personal data; role-checked)."""
    qs = _query(user, flt).select_related(None).select_related("template")
    return compute_statistics(qs.only("template__test", "template__come", "state",
                                      "triggered_at", "first_ack_at", "resolved_at"))


def seconds_text(value) -> str:
    if value is None:
        return "–"
    value = float(value)
    if value < 60:
        return f"{value:.1f} s".replace(".", ",").replace(",0 s", " s")
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes} min {seconds} s"


# --- One alarm ----------------------------------------------------------------------------------

def _position_links(position: dict | None) -> dict | None:
    if not position:
        return None
    lat, lon = position["lat"], position["lon"]
    return {"geo": f"geo:{lat},{lon}",
            "osm": f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=19/{lat}/{lon}"}


def detail(user, alarm_id: int) -> dict:
    """One alarm for the log's detail page: facts, timeline, recipients, thread (audited read
    through ``services.get_alarm``)."""
    alarm = services.get_alarm(user, alarm_id)
    location = payloads.location_of(alarm)
    sms_by_phone = _sms_by_phone(alarm)
    recipients = [{
        "label": r.label, "tier": r.tier or "–", "online": r.online,
        "notified": _local(r.notified_at), "delivered": _local(r.delivered_at),
        "delivered_s": _seconds(alarm.triggered_at, r.delivered_at),
        "response": RESPONSE_LABELS.get(r.response, r.response),
        "response_code": r.response, "responded": _local(r.responded_at),
        "sms": r.sms_sent,
        "sms_state": _sms_state(sms_by_phone, r) if r.sms_sent else "",
    } for r in alarm.recipients.select_related("inbox__user__employee").order_by("tier",
                                                                               "label")]
    timeline = [{
        "at": _local(t.at), "iso": t.at.isoformat(), "kind": t.kind,
        "kind_label": TIMELINE_LABELS.get(t.kind, t.kind), "text": t.text, "actor": t.actor,
        "offset_s": _seconds(alarm.triggered_at, t.at),
    } for t in alarm.timeline.all()]
    thread = [{"author": m.author_label, "text": m.text, "at": _local(m.at)}
                for m in alarm.messages.all()]
    return {
        "alarm": alarm, "row": row(alarm), "sender": payloads.sender_info(alarm),
        "location": location, "location_line": locations.one_line(location),
        "map": _position_links(location.get("position")),
        "recipients": recipients, "timeline": timeline, "thread": thread,
        "sms": list(alarm.sms.order_by("created_at").values("phone", "state", "created_at",
                                                            "error")),
        "unanswered": is_unanswered(alarm),
    }


# What became of a receiver's SMS, the best outcome of its messages first.
SMS_OUTCOMES = (("delivered", "zugestellt"), ("sent", "an Gateway übergeben"),
                ("sending", "wird gesendet"), ("queued", "wartet"),
                ("failed", "fehlgeschlagen"), ("cancelled", "nicht gesendet (Alarm beendet)"))


def _sms_by_phone(alarm) -> dict[str, list[tuple[str, datetime]]]:
    found: dict[str, list[tuple[str, datetime]]] = {}
    for phone, state, at in alarm.sms.values_list("phone", "state", "updated_at"):
        found.setdefault(phone, []).append((state, at))
    return found


def _sms_state(by_phone: dict, recipient) -> str:
    """"zugestellt 14:03:07" (the gateway's delivery report), "an Gateway übergeben", … for
    the SMS to this receiver's mobile number."""
    user = recipient.inbox.user
    employee = getattr(user, "employee", None) if user is not None else None
    if employee is None or not employee.mobile_phone:
        return ""
    rows = by_phone.get(sms.normalise_number(employee.mobile_phone)[:40], [])
    for state, label in SMS_OUTCOMES:
        times = [at for s, at in rows if s == state]
        if times:
            return f"{label} {_local(max(times))}" if state == "delivered" else label
    return ""


def participant_alarms(user, limit: int = 10) -> list[Alarm]:
    """Recent alarms this user sent or helped with (answered "coming"), newest first."""
    inbox = Inbox.objects.filter(user=user).first()
    cond = Q(sender_user=user)
    if inbox is not None:
        cond |= Q(recipients__inbox=inbox, recipients__response="coming")
    return list(Alarm.objects.filter(cond).distinct().select_related("template", "room")
                .order_by("-triggered_at")[:limit])
