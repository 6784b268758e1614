"""Case documents as PDF (DIN A4): the criminal complaint for the police, the accident report for
the statutory accident insurer, and the case summary.

``document_for`` is the one entry point (API and UI call it). It checks who may have which
document in which state, builds the PDF and records the audited read of the personal data it
contains; the PDF is returned only once that audit row is committed.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from beistand.accounts import services as accounts
from beistand.accounts.roles import Role
from beistand.audit import services as audit
from beistand.core.errors import AccessDenied, Conflict, InvalidInput, NotFound
from beistand.organisation import services as org
from beistand.reports import services as reports
from beistand.reports import workflow
from beistand.reports.documents import accident, common, complaint, summary
from beistand.reports.models import Report


@dataclass(frozen=True)
class Kind:
    title: str
    check: Callable  # (user, report, victim_id) -> dict of build arguments; raises on refusal
    build: Callable  # (report, generated_at, **arguments) -> (filename, bytes)


def _check_complaint(user, report: Report, victim_id):
    if not (accounts.has_role(user, Role.PERSONNEL) or accounts.has_role(user, Role.ZKS)):
        raise AccessDenied("Die Strafanzeige erstellen nur die Personalverwaltung (Amt 11) und "
                           "die ZKS.")
    if not workflow.facts(report.status).released:
        raise Conflict("Die Strafanzeige gibt es erst, wenn die/der Vorgesetzte die Meldung "
                       f"freigegeben hat (Status jetzt: „{report.get_status_display()}“).")
    return {}


def _check_accident(user, report: Report, victim_id):
    victims = common.victims(report)
    me = org.employee_of(user)
    personnel = accounts.has_role(user, Role.PERSONNEL)
    if victim_id is None:
        # A victim asking gets their own report; otherwise the first victim's.
        mine = [v for v in victims if me is not None and v.pk == me.pk]
        victim = (mine or victims or [None])[0]
    else:
        victim = next((v for v in victims if v.pk == victim_id), None)
    if not personnel and not (me is not None and any(v.pk == me.pk for v in victims)):
        raise AccessDenied("Die Unfallanzeige erhalten nur die Personalverwaltung (Amt 11) und "
                           "die betroffene Person selbst.")
    if victim is None:
        raise InvalidInput("Diese Person ist in der Meldung nicht als betroffen erfasst.",
                           field="victim_id")
    if not personnel and victim.pk != me.pk:
        raise AccessDenied("Sie erhalten nur Ihre eigene Unfallanzeige.")
    if not workflow.facts(report.status).shared:
        raise Conflict("Die Meldung ist noch ein Entwurf; bitte zuerst einreichen.")
    return {"victim": victim}


def _check_summary(user, report: Report, victim_id):
    if not (accounts.has_role(user, Role.ZKS) or accounts.has_role(user, Role.PERSONNEL)
            or workflow.is_supervisor(user, report)):
        raise AccessDenied("Die Fallübersicht erhalten nur die ZKS, die Personalverwaltung "
                           "(Amt 11) und die/der direkte Vorgesetzte.")
    if not workflow.facts(report.status).shared:
        raise Conflict("Die Meldung ist noch ein Entwurf; bitte zuerst einreichen.")
    return {}


KINDS: dict[str, Kind] = {
    "complaint": Kind("Strafanzeige", _check_complaint,
                      lambda report, at: complaint.build(report, at)),
    "accident": Kind("Unfallanzeige", _check_accident,
                     lambda report, at, victim: accident.build(report, victim, at)),
    "summary": Kind("Fallübersicht", _check_summary,
                    lambda report, at: summary.build(report, at)),
}


def document_for(user, report_id: int, kind: str,
                 victim_id: int | None = None) -> tuple[str, bytes]:
    """(filename, PDF bytes) of document ``kind`` for the report, if ``user`` may have it.

    Unknown kind or a report the user cannot see: NotFound (no existence leak); visible but not
    for this role: AccessDenied; not yet in a state for it: Conflict.
    """
    spec = KINDS.get(kind)
    if spec is None:
        raise NotFound(f"Die Dokumentart „{kind}“ gibt es nicht. Möglich: "
                       f"{', '.join(KINDS)}.")
    report = (reports.visible_reports(user).select_related("reporter__unit", "room")
              .filter(pk=report_id).first())
    if report is None:
        raise NotFound("Diese Meldung gibt es nicht oder Sie dürfen sie nicht sehen.")
    arguments = spec.check(user, report, victim_id)
    generated_at = timezone.now()
    filename, pdf = spec.build(report, generated_at, **arguments)
    purpose = f"Dokument: {spec.title}"
    if "victim" in arguments:
        purpose += f" (Betroffene/r #{arguments['victim'].pk})"
    with transaction.atomic():
        audit.record_read(report, actor=user, purpose=purpose)
    return filename, pdf
