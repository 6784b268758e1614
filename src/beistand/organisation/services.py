"""Public face of the organisation app: the unit tree, supervisors, places, employee look-ups."""

import math

from django.db import transaction

from beistand.audit import services as audit
from beistand.organisation.models import Body, Employee, OrgUnit, Room

# Filled by accounts at start-up (organisation knows no roles): whether the account with this id
# holds a privileged role, so that its employee record's e-mail and account link are read-only
# in the admin site (issue 16, attack review 2; accounts also refuses such saves on any path).
identity_check = None


def identity_locked(employee: Employee | None) -> bool:
    """The employee's identity-linking fields (e-mail, account) may not be edited here."""
    if employee is None or employee.user_id is None:
        return False
    return identity_check is None or bool(identity_check(employee.user_id))


def body_name() -> str:
    """The name of the body this installation serves ("" before it is set up)."""
    return Body.objects.filter(pk=1).values_list("name", flat=True).first() or ""


def employee_of(user) -> Employee | None:
    """The employee record of a login account, or None (e.g. a technical admin account)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.employee
    except Employee.DoesNotExist:
        return None


def display_name(user) -> str:
    """A person's name wherever one is shown (pages, letters, alarms, API): the employee
    record's, else the account's full name, else its user name; "System" for no user."""
    if user is None:
        return "System"
    try:
        employee = user.employee
    except (Employee.DoesNotExist, AttributeError):
        employee = None
    if employee is not None:
        return employee.full_name
    return user.get_full_name() or user.get_username()


def direct_supervisor(employee: Employee) -> Employee | None:
    """The explicit supervisor, else the head of the own unit, else of the nearest unit above.

    An employee never supervises themself: a unit head reports to the head above.
    """
    if employee.supervisor_id:
        return employee.supervisor
    units = [employee.unit, *employee.unit.ancestors()]
    for unit in units:
        if unit.head_id and unit.head_id != employee.pk:
            return unit.head
    return None


def direct_reports(supervisor: Employee) -> list[Employee]:
    """Everyone whose direct supervisor (explicit or derived from the tree) is ``supervisor``."""
    candidates = {e.pk: e for e in Employee.objects.filter(supervisor=supervisor, active=True)}
    # Derived: members of headed units and of headless units below them, plus heads of units below.
    frontier = list(OrgUnit.objects.filter(head=supervisor))
    seen = set()
    while frontier:
        unit = frontier.pop()
        if unit.pk in seen:
            continue
        seen.add(unit.pk)
        for member in unit.members.filter(supervisor__isnull=True, active=True):
            candidates.setdefault(member.pk, member)
        for child in unit.children.select_related("head"):
            if child.head_id and child.head_id != supervisor.pk:
                candidates.setdefault(child.head_id, child.head)
            else:
                frontier.append(child)
    return sorted(
        (e for e in candidates.values()
         if e.pk != supervisor.pk and direct_supervisor(e) == supervisor),
        key=lambda e: (e.last_name, e.first_name),
    )


def is_supervisor(employee: Employee | None) -> bool:
    if employee is None:
        return False
    if Employee.objects.filter(supervisor=employee, active=True).exists():
        return True
    return OrgUnit.objects.filter(head=employee).exists()


def unit_subtree(unit: OrgUnit) -> list[OrgUnit]:
    """The unit and every unit below it."""
    result, frontier = [], [unit]
    while frontier:
        node = frontier.pop()
        result.append(node)
        frontier.extend(node.children.all())
    return result


def room_distance_m(a: Room, b: Room) -> float | None:
    """Straight-line distance in metres between two rooms; None when positions are unknown.

    Same building: floor-plan coordinates plus 4 m per floor. Different buildings: great-circle
    distance between the buildings' (or sites') coordinates.
    """
    if a.floor.building_id == b.floor.building_id:
        if None in (a.x, a.y, b.x, b.y):
            return None
        dz = 4.0 * (a.floor.level - b.floor.level)
        return math.sqrt((a.x - b.x) ** 2 + (a.y - b.y) ** 2 + dz**2)
    pa, pb = _coordinates(a), _coordinates(b)
    if pa is None or pb is None:
        return None
    return haversine_m(*pa, *pb)


def _coordinates(room: Room):
    building = room.floor.building
    for holder in (building, building.site):
        if holder.latitude is not None and holder.longitude is not None:
            return float(holder.latitude), float(holder.longitude)
    return None


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(h))


def read_employee(actor, employee_id: int, purpose: str = "") -> Employee:
    """Load one employee's personal data for ``actor``, auditing the read in one transaction."""
    with transaction.atomic():
        employee = Employee.objects.select_related("unit", "room", "supervisor").get(
            pk=employee_id)
        audit.record_read(employee, actor=actor, purpose=purpose,
                          fields=["name", "contact", "unit", "room"])
    return employee


def floor_label(floor) -> str:
    """How a floor is named to people: its own name, else "Erdgeschoss", "1. Obergeschoss",
    "1. Untergeschoss"."""
    if floor.name:
        return floor.name
    if floor.level == 0:
        return "Erdgeschoss"
    if floor.level < 0:
        return f"{-floor.level}. Untergeschoss"
    return f"{floor.level}. Obergeschoss"


# --- Gaps in the master data (the administrator's start page card) -----------------------------

def count_employees_without_room() -> int:
    """Active employees with neither a room nor field service: the silent alarm cannot place
    them."""
    return Employee.objects.filter(active=True, room__isnull=True, field_service=False).count()


def units_without_head() -> list[str]:
    """The codes of units without a head: nobody there releases reports."""
    return list(OrgUnit.objects.filter(head__isnull=True).values_list("code", flat=True))
