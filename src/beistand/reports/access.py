"""Who sees which report: the visibility rule every read of a report goes through (the
services, the attachments, the lists). Below ``services`` so that modules under it (the
attachments) ask the same rule without importing their own public face."""

from django.db.models import Q, QuerySet

from beistand.accounts import services as accounts
from beistand.accounts.roles import Role
from beistand.organisation import services as org
from beistand.organisation.models import Employee, OrgUnit
from beistand.reports import workflow
from beistand.reports.models import Report


def _supervised_people(employee: Employee) -> list[int]:
    """Employees whose reports this supervisor sees: direct reports and their headed units."""
    ids = {e.pk for e in org.direct_reports(employee)}
    for unit in OrgUnit.objects.filter(head=employee):
        for sub in org.unit_subtree(unit):
            ids.update(sub.members.values_list("pk", flat=True))
    ids.discard(employee.pk)
    return sorted(ids)


def visible_reports(user) -> QuerySet:
    """Reports the user may see at all. Drafts only their author sees."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Report.objects.none()
    employee = org.employee_of(user)
    roles = accounts.roles_of(user)
    shared = workflow.states(shared=True)
    q = Q(created_by=user)
    if employee is not None:
        q |= Q(reporter=employee) | (Q(victims=employee) & Q(status__in=shared))
        if Role.SUPERVISOR in roles:
            people = _supervised_people(employee)
            q |= (Q(reporter__in=people) | Q(victims__in=people)) & Q(status__in=shared)
    if Role.ZKS in roles:
        q |= Q(status__in=shared)
    if Role.PERSONNEL in roles:
        q |= Q(status__in=workflow.states(released=True))
    return Report.objects.filter(pk__in=Report.objects.filter(q).values("pk"))
