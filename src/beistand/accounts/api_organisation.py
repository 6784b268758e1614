"""API: the organisation (units, sites and rooms; one employee's contact data, audited).

It lives in accounts, not in organisation: who may read an employee's contact data depends on
roles, and the organisation app sits below the roles."""

from ninja import Router, Schema

from beistand.accounts import services as accounts
from beistand.accounts.roles import Role
from beistand.core.errors import AccessDenied, NotFound
from beistand.organisation import services
from beistand.organisation.models import Employee, OrgUnit, Room

router = Router(tags=["Organisation"])


class UnitOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    head_id: int | None


class RoomOut(Schema):
    id: int
    number: str
    name: str
    floor: int
    building: str
    site: str

    @staticmethod
    def resolve_floor(obj: Room):
        return obj.floor.level

    @staticmethod
    def resolve_building(obj: Room):
        return obj.floor.building.name

    @staticmethod
    def resolve_site(obj: Room):
        return obj.floor.building.site.name


class EmployeeOut(Schema):
    id: int
    last_name: str
    first_name: str
    email: str
    service_phone: str
    mobile_phone: str
    unit_id: int
    room_id: int | None
    field_service: bool
    supervisor_id: int | None

    @staticmethod
    def resolve_supervisor_id(obj: Employee):
        sup = services.direct_supervisor(obj)
        return sup.pk if sup else None


@router.get("/units", response=list[UnitOut], operation_id="organisation_units")
def units(request):
    """The unit tree as a flat list (parent_id links); no personal data."""
    return list(OrgUnit.objects.all())


@router.get("/rooms", response=list[RoomOut], operation_id="organisation_rooms")
def rooms(request):
    return list(Room.objects.select_related("floor__building__site"))


@router.get("/employees/{employee_id}", response=EmployeeOut, operation_id="organisation_employee")
def employee(request, employee_id: int, purpose: str = ""):
    """One employee's contact data: the person themself, administration, Amt 11. Audited."""
    user = request.auth
    own = services.employee_of(user)
    if not (own and own.pk == employee_id) and not accounts.has_role(
            user, Role.ADMIN, Role.PERSONNEL):
        raise AccessDenied("Sie dürfen nur Ihre eigenen Kontaktdaten abrufen.")
    try:
        return services.read_employee(user, employee_id, purpose=purpose)
    except Employee.DoesNotExist:
        raise NotFound("Diese/n Beschäftigte/n gibt es nicht.") from None
