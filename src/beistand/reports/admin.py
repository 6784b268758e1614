"""The catalogues in the admin site: the administrator maintains offences and help offers.

Entries are never deleted — past reports and help requests refer to them — but retired with
``active``. A code is the stable key used by the API and the data; it is fixed once created.
Writes are audited by the model signals (the admin saves inside a transaction).
"""

from django.contrib import admin

from beistand.core.admin_site import admin_site
from beistand.reports.models import HelpOffer, Offence


class _CatalogueAdmin(admin.ModelAdmin):
    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Offence, site=admin_site)
class OffenceAdmin(_CatalogueAdmin):
    list_display = ["label", "code", "level", "attack", "active", "sort"]
    list_filter = ["level", "attack", "active"]
    search_fields = ["code", "label"]
    fields = ["code", "label", "level", "attack", "active", "sort"]


@admin.register(HelpOffer, site=admin_site)
class HelpOfferAdmin(_CatalogueAdmin):
    list_display = ["label", "code", "unit_code", "active", "sort"]
    list_filter = ["unit_code", "active"]
    search_fields = ["code", "label", "description"]
    fields = ["code", "label", "description", "unit_code", "active", "sort"]
