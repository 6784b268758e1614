"""Help offers (Hilfsangebote) requested by affected employees, handled by the responsible unit.

Who sees a help request: the victim it is for, and the members of the unit that owns the offer
(an ``OrgUnit`` whose code is the offer's ``unit_code``, or any unit below it). Nobody else —
not supervisors, not queriers, not statistics, not the ZKS as such (ZKS staff see I/3 offers only
because I/3 owns them). A request tells the owning unit who needs help and which report it
belongs to (reference only), never the report's content.

Who may move a request to which state is the table in ``help_workflow``.
"""

from django.db import transaction
from django.db.models import Q, QuerySet

from beistand.audit import services as audit
from beistand.core.errors import AccessDenied, InvalidInput, NotFound
from beistand.organisation import services as org
from beistand.organisation.models import Employee, OrgUnit
from beistand.reports import help_workflow
from beistand.reports.models import HelpOffer, HelpRequest, Report
from beistand.reports.services import active_by_code, visible_reports

NOTE_MAX = 2000
OPEN_STATES = help_workflow.states(open=True)


def _active_employee(user) -> Employee:
    employee = org.employee_of(user)
    if employee is None or not employee.active:
        raise AccessDenied("Hilfsangebote gibt es nur für Beschäftigte dieser Behörde.")
    return employee


def owned_unit_codes(employee: Employee | None) -> set[str]:
    """Offer unit codes this employee handles: units whose subtree contains their unit."""
    if employee is None or not employee.active:
        return set()
    codes = set(HelpOffer.objects.values_list("unit_code", flat=True))
    owned = set()
    for unit in OrgUnit.objects.filter(code__in=codes):
        if any(u.pk == employee.unit_id for u in org.unit_subtree(unit)):
            owned.add(unit.code)
    return owned


def visible_help_requests(user) -> QuerySet:
    """The help requests ``user`` may see: their own (as victim) and their unit's."""
    employee = org.employee_of(user)
    if employee is None or not employee.active:
        return HelpRequest.objects.none()
    q = Q(victim=employee)
    owned = owned_unit_codes(employee)
    if owned:
        q |= Q(offer__unit_code__in=owned)
    return (HelpRequest.objects.filter(q)
            .select_related("offer", "victim", "owner", "report"))


def _record_reads(user, requests) -> None:
    """Someone else's help request is personal data of the victim: the read is audited."""
    employee = org.employee_of(user)
    for hr in requests:
        if employee is None or hr.victim_id != employee.pk:
            audit.record_read(hr, actor=user, purpose="Bearbeitung Hilfsangebot",
                              fields=["victim", "offer", "state", "note", "report"])


def list_help_requests(user) -> list[HelpRequest]:
    """Own help requests and those the user's unit handles (reads of others' audited)."""
    with transaction.atomic():
        requests = list(visible_help_requests(user).order_by("-created_at", "-pk"))
        _record_reads(user, requests)
    return requests


def help_requests_of_report(user, report: Report) -> list[HelpRequest]:
    """The help requests of one report that ``user`` may see (reads of others' audited)."""
    with transaction.atomic():
        requests = list(visible_help_requests(user).filter(report=report)
                        .order_by("created_at", "pk"))
        _record_reads(user, requests)
    return requests


def request_help(user, report_id: int | None, offer_codes: list[str]) -> list[HelpRequest]:
    """A victim asks for help for themself, with a report or on its own (also later).

    An offer already requested and still open (for the same report) is not requested twice;
    the existing request is returned instead.
    """
    employee = _active_employee(user)
    codes = [c for c in (offer_codes or []) if isinstance(c, str)]
    if not codes:
        raise InvalidInput("Bitte mindestens ein Hilfsangebot auswählen.", field="offers")
    offers = active_by_code(HelpOffer, codes, "Unbekanntes Hilfsangebot", "offers")
    with transaction.atomic():
        report = None
        if report_id is not None:
            report = visible_reports(user).filter(pk=report_id).first()
            if report is None:
                raise NotFound("Diese Meldung gibt es nicht oder Sie dürfen sie nicht sehen.")
            if not report.victims.filter(pk=employee.pk).exists():
                raise AccessDenied("Hilfsangebote kann nur eine betroffene Person für sich "
                                   "anfragen.")
        result = []
        for offer in offers:
            existing = HelpRequest.objects.filter(victim=employee, report=report,
                                                  offer=offer, state__in=OPEN_STATES).first()
            result.append(existing or HelpRequest.objects.create(
                victim=employee, report=report, offer=offer))
    return result


def update_help_request(user, request_id: int, state: str, note: str | None = None
                        ) -> HelpRequest:
    """The owning unit records progress; the handling employee becomes the owner.

    The victim may only withdraw an open request (state ``declined``).
    """
    if state not in help_workflow.STATES:
        raise InvalidInput("Unbekannter Status (erlaubt: "
                           f"{', '.join(help_workflow.STATES)}).", field="state")
    if note is not None and len(note) > NOTE_MAX:
        raise InvalidInput(f"Die Notiz darf höchstens {NOTE_MAX} Zeichen lang sein.",
                           field="note")
    employee = _active_employee(user)
    with transaction.atomic():
        hr = visible_help_requests(user).filter(pk=request_id).first()
        if hr is None:
            raise NotFound("Diese Hilfeanfrage gibt es nicht oder Sie dürfen sie nicht sehen.")
        hr = HelpRequest.objects.select_for_update().select_related("offer").get(pk=hr.pk)
        if hr.offer.unit_code in owned_unit_codes(employee):
            actor = help_workflow.UNIT
        elif hr.victim_id == employee.pk:
            actor = help_workflow.VICTIM
        else:  # pragma: no cover - visible_help_requests admits only these two
            raise AccessDenied("Keine Berechtigung.")
        help_workflow.check(hr, actor, state, note)
        hr.state = state
        if actor == help_workflow.UNIT:
            if note is not None:
                hr.note = note.strip()
            hr.owner = employee
        hr.save()
    return hr
