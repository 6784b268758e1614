"""Master data in the admin site (only holders of the admin role get in, see core/admin_site).

Writes through the admin are audited by the model signals (Django's admin saves inside a
transaction). Opening an employee's change page shows personal data, so it is recorded as a read.
"""

from django.contrib import admin
from django.db import transaction

from beistand.audit import services as audit
from beistand.core.admin_site import admin_site
from beistand.organisation import services
from beistand.organisation.models import (
    Body,
    Building,
    Employee,
    Floor,
    OrgUnit,
    Room,
    Site,
)


@admin.register(Body, site=admin_site)
class BodyAdmin(admin.ModelAdmin):
    list_display = ["name", "city"]

    def has_add_permission(self, request):
        # One installation serves one body: a singleton.
        return super().has_add_permission(request) and not Body.objects.exists()


@admin.register(OrgUnit, site=admin_site)
class OrgUnitAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "parent", "head"]
    list_filter = ["kind"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["parent", "head"]
    list_select_related = ["parent", "head"]


class BuildingInline(admin.TabularInline):
    model = Building
    extra = 0
    show_change_link = True


class FloorInline(admin.TabularInline):
    model = Floor
    extra = 0
    show_change_link = True


class RoomInline(admin.TabularInline):
    model = Room
    extra = 0
    fields = ["number", "name", "x", "y"]


@admin.register(Site, site=admin_site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["name", "street", "postal_code", "city", "latitude", "longitude"]
    search_fields = ["name", "street", "city"]
    inlines = [BuildingInline]


@admin.register(Building, site=admin_site)
class BuildingAdmin(admin.ModelAdmin):
    list_display = ["name", "site"]
    list_filter = ["site"]
    search_fields = ["name", "site__name"]
    inlines = [FloorInline]


@admin.register(Floor, site=admin_site)
class FloorAdmin(admin.ModelAdmin):
    list_display = ["__str__", "level"]
    list_filter = ["building__site", "building"]
    search_fields = ["name", "building__name", "building__site__name"]
    inlines = [RoomInline]
    list_select_related = ["building__site"]


@admin.register(Room, site=admin_site)
class RoomAdmin(admin.ModelAdmin):
    list_display = ["number", "name", "floor", "x", "y"]
    list_filter = ["floor__building__site", "floor__building"]
    search_fields = ["number", "name", "floor__building__name", "floor__building__site__name"]
    autocomplete_fields = ["floor"]
    list_select_related = ["floor__building__site"]


@admin.register(Employee, site=admin_site)
class EmployeeAdmin(admin.ModelAdmin):
    list_display = ["last_name", "first_name", "personnel_number", "unit", "field_service",
                    "active"]
    list_filter = ["unit", "field_service", "active"]
    search_fields = ["last_name", "first_name", "personnel_number"]
    autocomplete_fields = ["unit", "supervisor", "room"]
    # Accounts may not be registered in this admin site; a plain id field always works.
    raw_id_fields = ["user"]
    list_select_related = ["unit"]
    fieldsets = [
        (None, {"fields": ["personnel_number", "last_name", "first_name", "unit", "supervisor",
                           "active", "user"]}),
        ("Erreichbarkeit", {"fields": ["email", "service_phone", "mobile_phone"]}),
        ("Arbeitsplatz", {"fields": ["room", "workstation", "field_service"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        # Single sign-on maps a login to the account through these fields: for the holder of a
        # privileged role no single administrator changes them (issue 16, attack review 2).
        fields = list(super().get_readonly_fields(request, obj))
        if services.identity_locked(obj):
            fields += ["email", "mobile_phone", "user"]
        return fields

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The read is recorded in the same transaction as the page is built. A POST (save) is
        # audited as a write by the model signals instead.
        with transaction.atomic():
            if request.method == "GET":
                employee = self.get_object(request, object_id)
                if employee is not None and self.has_view_or_change_permission(request,
                                                                               employee):
                    audit.record_read(employee, actor=request.user, purpose="Stammdatenpflege",
                                      fields=["name", "contact", "unit", "room", "supervisor"])
            return super().change_view(request, object_id, form_url, extra_context)

    def changelist_view(self, request, extra_context=None):
        # Browsing the staff list shows names of many people: record who searched for what.
        with transaction.atomic():
            if request.method == "GET" and self.has_view_or_change_permission(request):
                audit.record("organisation.employee.list", object_type="organisation.employee",
                             actor=request.user, purpose="Stammdatenpflege",
                             after={"query": dict(request.GET.lists())})
            return super().changelist_view(request, extra_context)
