"""Public face of the reports app: create, read, list and move reports through the workflow.

Every status change goes through ``transition``: it locks the report row, finds the matching
row of the transition table, checks who acts and the conditions, applies the action's effects,
appends a ``StatusChange`` and enqueues notifications, all in one transaction.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from beistand.accounts import services as accounts
from beistand.accounts.roles import Role
from beistand.audit import services as audit
from beistand.core.errors import AccessDenied, Conflict, InvalidInput, NotFound
from beistand.organisation import services as org
from beistand.organisation.models import Employee, Room
from beistand.reports import attachments, origins, signals, workflow
from beistand.reports.access import visible_reports
from beistand.reports.models import (
    HelpOffer,
    HelpRequest,
    Offence,
    Perpetrator,
    Report,
    Status,
    StatusChange,
    Witness,
)
from beistand.reports.workflow import allowed_actions

# Clocks of phones and PCs drift; a few minutes "in the future" is not a typo.
FUTURE_TOLERANCE = timedelta(minutes=5)


# --- Input -------------------------------------------------------------------------------------

@dataclass
class PerpetratorInput:
    known: bool = True
    last_name: str = ""
    first_names: str = ""
    birth_name: str = ""
    aliases: list[str] = field(default_factory=list)
    date_of_birth: date | None = None
    street: str = ""
    house_number: str = ""
    postal_code: str = ""
    city: str = ""
    description: str = ""


@dataclass
class WitnessInput:
    employee_id: int | None = None
    name: str = ""
    contact: str = ""


@dataclass
class ReportInput:
    occurred_at: datetime
    offences: list[str]
    description: str
    location_kind: str = "office"
    room_id: int | None = None
    address: str = ""
    lat: float | None = None
    lon: float | None = None
    victim_ids: list[int] | None = None
    perpetrators: list[PerpetratorInput] = field(default_factory=list)
    witnesses: list[WitnessInput] = field(default_factory=list)
    injuries: str = ""
    incapacity_days: int | None = None
    police_on_site: bool = False
    police_on_site_file_number: str = ""
    house_ban_issued: bool = False
    from_other_authority: bool = False
    help_offers: list[str] = field(default_factory=list)


def active_by_code(model, codes, unknown_message: str, field_name: str) -> list:
    """The active catalogue rows for ``codes`` (in their order, duplicates once); an unknown or
    retired code is an InvalidInput naming ``field_name``."""
    codes = list(dict.fromkeys(codes))
    rows = {r.code: r for r in model.objects.filter(code__in=codes, active=True)}
    unknown = [c for c in codes if c not in rows]
    if unknown:
        raise InvalidInput(f"{unknown_message}: {', '.join(unknown)}.", field=field_name)
    return [rows[c] for c in codes]


def plausible_victim(reporter: Employee, victim: Employee, location_kind: str) -> bool:
    """A named victim other than the reporter must be a plausible colleague (issue 16, finding
    8): in the reporter's own unit, or - for an incident in the office - working in the same
    building as the reporter (both from the organisation's master data). The room typed into the
    report does not count: the reporter chooses it freely, and a room in the victim's building
    made anyone "present". Anyone else only the reporter's supervisor can confirm
    (``confirm_victim``)."""
    if victim.pk == reporter.pk:
        return True
    if reporter.unit_id is not None and victim.unit_id == reporter.unit_id:
        return True
    if location_kind == "office" and reporter.room_id is not None \
            and victim.room_id is not None:
        return victim.room.floor.building_id == reporter.room.floor.building_id
    return False


def _validated(reporter: Employee, data: ReportInput, confirmed=frozenset()) -> dict:
    """Check every field; raise InvalidInput naming the first bad one. Returns resolved objects.
    ``confirmed``: victims already on the report (named plausibly or confirmed before)."""
    now = timezone.now()
    occurred_at = data.occurred_at
    if occurred_at is None:
        raise InvalidInput("Bitte den Zeitpunkt des Vorfalls angeben.", field="occurred_at")
    if timezone.is_naive(occurred_at):
        occurred_at = timezone.make_aware(occurred_at)
    if occurred_at > now + FUTURE_TOLERANCE:
        raise InvalidInput("Der Zeitpunkt des Vorfalls liegt in der Zukunft.",
                           field="occurred_at")
    if occurred_at < now - timedelta(days=3 * 365):
        raise InvalidInput("Der Zeitpunkt liegt mehr als drei Jahre zurück.", field="occurred_at")

    if not data.offences:
        raise InvalidInput("Bitte mindestens ein Delikt auswählen.", field="offences")
    offences = active_by_code(Offence, data.offences, "Unbekanntes Delikt", "offences")

    if not (data.description or "").strip():
        raise InvalidInput("Bitte schildern Sie kurz, was geschehen ist.", field="description")

    room = None
    if data.location_kind == "office":
        if data.room_id is not None:
            room = Room.objects.filter(pk=data.room_id).first()
            if room is None:
                raise InvalidInput("Diesen Raum gibt es nicht.", field="location.room_id")
        else:
            room = reporter.room
    elif data.location_kind == "field":
        if not (data.address or "").strip():
            raise InvalidInput("Bitte die Adresse des Einsatzortes angeben.",
                               field="location.address")
        if data.lat is not None and not -90 <= data.lat <= 90:
            raise InvalidInput("Ungültige geografische Breite.", field="location.lat")
        if data.lon is not None and not -180 <= data.lon <= 180:
            raise InvalidInput("Ungültige geografische Länge.", field="location.lon")
    else:
        raise InvalidInput("Ort muss „office“ oder „field“ sein.", field="location.kind")

    victim_ids = list(dict.fromkeys(data.victim_ids or [reporter.pk]))
    victims = list(Employee.objects.filter(pk__in=victim_ids, active=True))
    if len(victims) != len(victim_ids):
        raise InvalidInput("Betroffene müssen aktive Beschäftigte dieser Behörde sein.",
                           field="victims")
    for victim in victims:
        if victim.pk not in confirmed and not plausible_victim(reporter, victim,
                                                              data.location_kind):
            raise InvalidInput(
                f"{victim.first_name} {victim.last_name} arbeitet weder in Ihrer "
                "Organisationseinheit noch in Ihrem Dienstgebäude und kann hier nicht als "
                "betroffen genannt werden. Schildern Sie die Beteiligung in der Beschreibung; Ihre "
                "Vorgesetzte/Ihr Vorgesetzter kann die Person nach Prüfung als betroffen "
                "bestätigen.", field="victims")

    for i, p in enumerate(data.perpetrators):
        if p.known and not (p.last_name or "").strip():
            raise InvalidInput("Bei einer bekannten Person ist der Name erforderlich.",
                               field=f"perpetrators.{i}.last_name")
        if p.date_of_birth and p.date_of_birth > now.date():
            raise InvalidInput("Das Geburtsdatum liegt in der Zukunft.",
                               field=f"perpetrators.{i}.date_of_birth")
    for i, w in enumerate(data.witnesses):
        if w.employee_id is not None and not Employee.objects.filter(pk=w.employee_id).exists():
            raise InvalidInput("Diese/n Beschäftigte/n gibt es nicht.",
                               field=f"witnesses.{i}.employee_id")
        if w.employee_id is None and not (w.name or "").strip():
            raise InvalidInput("Bitte den Namen der Zeugin/des Zeugen angeben.",
                               field=f"witnesses.{i}.name")
    if data.incapacity_days is not None and not 0 <= data.incapacity_days <= 365:
        raise InvalidInput("Tage der Arbeitsunfähigkeit: 0 bis 365.", field="incapacity_days")

    offers = active_by_code(HelpOffer, data.help_offers or [], "Unbekanntes Hilfsangebot",
                            "help_offers")
    if offers and reporter.pk not in victim_ids:
        raise InvalidInput("Hilfsangebote kann nur eine betroffene Person für sich anfragen.",
                           field="help_offers")
    return {"occurred_at": occurred_at, "offences": offences, "room": room,
            "victims": victims, "help_offers": offers}


def _apply(report: Report, data: ReportInput, resolved: dict) -> None:
    report.occurred_at = resolved["occurred_at"]
    report.location_kind = data.location_kind
    report.room = resolved["room"]
    is_field = data.location_kind == "field"
    report.address = data.address.strip() if is_field else ""
    report.latitude = Decimal(str(round(data.lat, 6))) if is_field and data.lat is not None \
        else None
    report.longitude = Decimal(str(round(data.lon, 6))) if is_field and data.lon is not None \
        else None
    report.description = data.description.strip()
    report.injuries = data.injuries.strip()
    report.incapacity_days = data.incapacity_days
    report.police_on_site = data.police_on_site
    report.police_on_site_file_number = data.police_on_site_file_number.strip()
    report.house_ban_issued = data.house_ban_issued
    report.from_other_authority = data.from_other_authority
    offences = resolved["offences"]
    report.hazard_level = max(o.level for o in offences)
    report.attack = any(o.attack for o in offences)


def _write_children(report: Report, data: ReportInput, resolved: dict) -> None:
    report.offences.set(resolved["offences"])
    report.victims.set(resolved["victims"])
    for p in report.perpetrators.all():
        p.delete()
    for p in data.perpetrators:
        Perpetrator.objects.create(
            report=report, known=p.known, last_name=p.last_name.strip(),
            first_names=p.first_names.strip(), birth_name=p.birth_name.strip(),
            aliases=[a.strip() for a in p.aliases if a.strip()], date_of_birth=p.date_of_birth,
            street=p.street.strip(), house_number=p.house_number.strip(),
            postal_code=p.postal_code.strip(), city=p.city.strip(),
            description=p.description.strip())
    for w in report.witnesses.all():
        w.delete()
    for w in data.witnesses:
        Witness.objects.create(report=report, employee_id=w.employee_id, name=w.name.strip(),
                               contact=w.contact.strip())
    existing = set(report.help_requests.values_list("offer_id", flat=True))
    for offer in resolved["help_offers"]:
        if offer.code not in existing:
            HelpRequest.objects.create(victim=report.reporter, report=report, offer=offer)


def create_report(user, data: ReportInput, submit: bool = False, *,
                  source: origins.Source | None = None,
                  files: list[attachments.CheckedUpload] = ()) -> Report:
    """A person reports an incident (as draft, or submitted at once), in one transaction:
    create the draft, link it to where it started (``source``, e.g. the alarm), store the
    attachments (``files``, checked and virus-scanned by ``attachments.check_uploads`` before),
    then submit. Nothing of it stays when a step fails."""
    reporter = org.employee_of(user)
    if reporter is None or not reporter.active:
        raise AccessDenied("Melden können nur Beschäftigte dieser Behörde.")
    resolved = _validated(reporter, data)
    stored = []
    try:
        with transaction.atomic():
            report = Report(reporter=reporter, created_by=user, status=Status.DRAFT)
            _apply(report, data, resolved)
            report.save()
            _write_children(report, data, resolved)
            StatusChange.objects.create(report=report, action="create", from_status="",
                                        to_status=Status.DRAFT, actor=user)
            if source is not None:
                source.link(user, report)
            for checked in files:
                stored.append(attachments.store(user, report, checked))
            if submit:
                _do_transition(user, report, "submit", {})
    except BaseException:
        attachments.discard(stored)
        raise
    return report


def update_report(user, report_id: int, data: ReportInput, submit: bool = False, *,
                  files: list[attachments.CheckedUpload] = ()) -> Report:
    """The reporter edits a draft or a returned report, adds attachments (``files``, checked
    before) and with ``submit`` sends it on — one transaction."""
    stored = []
    try:
        with transaction.atomic():
            report = _locked(user, report_id)
            if not workflow.is_reporter(user, report):
                raise AccessDenied("Nur die meldende Person kann die Meldung bearbeiten.")
            if not workflow.facts(report.status).reporter_edits:
                raise Conflict(f"Im Status „{report.get_status_display()}“ ist die Meldung "
                               "nicht mehr änderbar.")
            resolved = _validated(report.reporter, data, confirmed=frozenset(
                report.victims.values_list("pk", flat=True)))
            _apply(report, data, resolved)
            report.save()
            _write_children(report, data, resolved)
            for checked in files:
                stored.append(attachments.store(user, report, checked))
            if submit:
                # The reporter's way on from a draft or a returned report (the table's row).
                (step,) = [t.action for t in workflow.transitions_from(report.status)
                           if t.actor == "reporter"] or ["submit"]
                _do_transition(user, report, step, {})
    except BaseException:
        attachments.discard(stored)
        raise
    return report


def confirm_victim(user, report_id: int, employee_id) -> Report:
    """The reporter's direct supervisor confirms a colleague as a victim whom the reporter could
    not name (not in their unit, not at the location): while the report waits for release, never
    by its author. Audited (``reports.report.victim_confirmed``)."""
    try:
        employee_id = int(employee_id)
    except (TypeError, ValueError):
        raise InvalidInput("Ungültige Personalangabe.", field="employee_id") from None
    with transaction.atomic():
        report = _locked(user, report_id)
        supervisor = org.employee_of(user)
        if (supervisor is None or workflow.is_reporter(user, report)
                or org.direct_supervisor(report.reporter) != supervisor):
            raise AccessDenied("Betroffene bestätigen kann nur die/der direkte Vorgesetzte der "
                               "meldenden Person (nicht die meldende Person selbst).")
        if not workflow.facts(report.status).victims_confirmable:
            raise Conflict("Betroffene können nur vor der Freigabe bestätigt werden.")
        victim = Employee.objects.filter(pk=employee_id, active=True).first()
        if victim is None:
            raise InvalidInput("Diese/n aktive/n Beschäftigte/n gibt es nicht.",
                               field="employee_id")
        report.victims.add(victim)
        audit.record("reports.report.victim_confirmed", obj=report, actor=user,
                     after={"victim": victim.pk})
    return report


# --- Reading ------------------------------------------------------------------------------------

def _locked(user, report_id: int) -> Report:
    """The report under a row lock, if the user may see it (else 404: no existence leak)."""
    if not visible_reports(user).filter(pk=report_id).exists():
        raise NotFound("Diese Meldung gibt es nicht oder Sie dürfen sie nicht sehen.")
    return Report.objects.select_for_update().get(pk=report_id)


def get_report(user, report_id: int, purpose: str = "") -> Report:
    """One report for ``user``; the read of its personal data is audited."""
    with transaction.atomic():
        report = visible_reports(user).filter(pk=report_id).first()
        if report is None:
            raise NotFound("Diese Meldung gibt es nicht oder Sie dürfen sie nicht sehen.")
        audit.record_read(report, actor=user, purpose=purpose)
    return report


def record_list_read(user, reports, *, what: str) -> None:
    """A list of reports shown to ``user`` (reporter, date, place, level, offences – personal
    data of the reporter and the victims): one audit event with the ids of the reports that are
    not the user's own, inside the caller's transaction (attack review of issue 16, item 9).
    Nothing is recorded for a list of one's own reports only."""
    employee = org.employee_of(user)
    others = [r.pk for r in reports
              if r.created_by_id != getattr(user, "pk", None)
              and (employee is None or r.reporter_id != employee.pk)]
    if others:
        audit.record("reports.report.list", object_type="reports.report",
                     object_repr=what[:300], actor=user,
                     after={"count": len(others), "reports": others})


def read_list(user, scope: str = "visible", *, limit: int = 50, offset: int = 0
              ) -> tuple[int, list[Report]]:
    """One page of a report list (``mine``, ``queue`` or ``visible``) and the total; the read
    of others' reports is audited in the same transaction."""
    with transaction.atomic():
        if scope == "queue":
            qs = queue(user)
        else:
            qs = visible_reports(user).order_by("-created_at", "-pk")
            if scope == "mine":
                employee = org.employee_of(user)
                qs = qs.filter(reporter=employee) if employee else qs.filter(created_by=user)
        count = qs.count()
        page = list(qs.select_related("reporter").prefetch_related("offences")[
            offset:offset + limit])
        record_list_read(user, page, what=f"Meldungsliste ({scope})")
    return count, page


def read_queue(user) -> list[Report]:
    """The work queue (``queue``) as shown on the page; the read is audited."""
    with transaction.atomic():
        reports = list(queue(user).prefetch_related("offences"))
        record_list_read(user, reports, what="Arbeitsliste")
    return reports


def queue(user) -> QuerySet:
    """What waits for this user: the reports in the states they are responsible for (returned
    own reports, releases, complaints, ZKS checks), plus the released reports the ZKS may close."""
    base = visible_reports(user)
    employee = org.employee_of(user)
    roles = accounts.roles_of(user)

    def of(actor: str) -> Q:
        return Q(status__in=workflow.states(responsible=actor))

    q = Q(pk__in=[])
    if employee is not None:
        q |= of("reporter") & Q(reporter=employee)
        if Role.SUPERVISOR in roles:
            waiting = [r.pk for r in base.filter(of("supervisor"))
                       if workflow.is_supervisor(user, r)]
            q |= Q(pk__in=waiting)
    if Role.PERSONNEL in roles:
        q |= of("personnel")
    if Role.ZKS in roles:
        q |= workflow.open_to("zks")
    return base.filter(q).order_by("due_at", "created_at")


def overdue_reports(now=None) -> QuerySet:
    now = now or timezone.now()
    return Report.objects.filter(due_at__lt=now).exclude(
        status__in=workflow.FINAL_STATES).order_by("due_at")


# --- Workflow -----------------------------------------------------------------------------------

ACTION_FIELDS = {
    "file_complaint": ("police_file_number", "complaint_date", "house_ban_date"),
    "close": ("reason",),
}


def transition(user, report_id: int, action: str, payload: dict | None = None) -> Report:
    """Take ``action`` on the report: one row-locked, audited, all-or-nothing step."""
    payload = dict(payload or {})
    with transaction.atomic():
        report = _locked(user, report_id)
        _do_transition(user, report, action, payload)
    return report


def _do_transition(user, report: Report, action: str, payload: dict) -> None:
    rows = workflow.find(report.status, action)
    if not rows:
        allowed = allowed_actions(user, report)
        raise Conflict(
            f"Die Aktion „{action}“ ist im Status „{report.get_status_display()}“ nicht möglich."
            + (f" Möglich: {', '.join(allowed)}." if allowed else " Für Sie ist hier nichts "
               "zu tun."), errors=[{"field": "action", "detail": "nicht erlaubt",
                                   "allowed_actions": allowed}])
    permitted = [t for t in rows if workflow.actor_may(t, user, report)]
    if not permitted:
        who = " oder ".join(sorted({workflow.ACTORS[t.actor][0] for t in rows}))
        raise AccessDenied(f"Diese Aktion darf nur {who} ausführen.")
    failures = []
    chosen = None
    for t in permitted:
        failed = workflow.failed_conditions(t, report, payload)
        if not failed:
            chosen = t
            break
        failures.extend(failed)
    if chosen is None:
        name, reason = failures[0]
        if name in workflow.INPUT_CONDITIONS:
            raise InvalidInput(reason, field=workflow.INPUT_CONDITIONS[name])
        raise Conflict(reason, errors=[{"field": "action", "detail": r, "condition": n,
                                        "allowed_actions": allowed_actions(user, report)}
                                       for n, r in failures])
    _apply_effects(user, report, chosen, payload)
    now = timezone.now()
    before = report.status
    report.status = chosen.next_state
    report.status_changed_at = now
    hours = workflow.deadline_hours(chosen.next_state)
    report.due_at = now + timedelta(hours=hours) if hours else None
    report.reminded_at = None
    report.escalated_at = None
    report.save()
    comment = (payload.get("comment") or payload.get("reason") or "").strip()
    data = {k: str(payload[k]) for k in ACTION_FIELDS.get(chosen.action, ()) if payload.get(k)}
    StatusChange.objects.create(report=report, action=chosen.action, from_status=before,
                                to_status=chosen.next_state, actor=user, comment=comment,
                                data=data)
    from beistand.reports import notifications

    notifications.on_transition(report, chosen, user)


def _parse_date(value, field_name):
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput("Bitte ein Datum im Format JJJJ-MM-TT angeben.",
                           field=field_name) from None


def _apply_effects(user, report: Report, t: workflow.Transition, payload: dict) -> None:
    if t.action == "file_complaint":
        complaint_date = _parse_date(payload.get("complaint_date"), "complaint_date")
        house_ban_date = _parse_date(payload.get("house_ban_date"), "house_ban_date")
        for d, name in ((complaint_date, "complaint_date"), (house_ban_date, "house_ban_date")):
            if d and d > timezone.localdate():
                raise InvalidInput("Das Datum liegt in der Zukunft.", field=name)
        report.police_file_number = (payload.get("police_file_number") or "").strip()[:60]
        report.complaint_date = complaint_date
        report.house_ban_date = house_ban_date
    elif t.action == "close":
        report.close_reason = payload["reason"].strip()[:500]
    elif t.action == "publish":
        # The register (an app above this one) creates the entries in this transaction.
        if not signals.report_published.has_listeners():
            raise RuntimeError("publishing needs the register app: nothing is connected to "
                               "reports.signals.report_published")
        signals.report_published.send(sender=Report, user=user, report=report)


# --- Catalogue ----------------------------------------------------------------------------------

def offence_catalogue() -> list[Offence]:
    return list(Offence.objects.filter(active=True))


def help_offer_catalogue() -> list[HelpOffer]:
    return list(HelpOffer.objects.filter(active=True))
