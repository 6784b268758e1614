"""One-time enrolment codes in the admin site (issue 21): IT administrators issue codes for
workstation PCs (a room and/or a person, as ``beistand enrolment-codes`` allows), see which are
open, used, expired or withdrawn, and withdraw open ones.

Every write goes through ``accounts.enrolment`` (role check, audit): issuing records
``accounts.enrolment.created``, withdrawing is audited through the model. Codes are shown in
clear exactly once, on the page after issuing them (only a hash is stored). Codes are never
edited or deleted here: a used code documents which device token it became.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils import timezone

from beistand.accounts import enrolment
from beistand.accounts.models import DeviceToken, EnrolmentCode
from beistand.accounts.roles import Role
from beistand.accounts.services import has_role
from beistand.core.admin_site import admin_site
from beistand.core.errors import DomainError
from beistand.organisation.models import Room

MAX_COUNT_HERE = 50  # larger roll-outs: the CLI with a CSV file


def status(code: EnrolmentCode, now=None) -> str:
    now = now or timezone.now()
    if code.revoked_at is not None:
        return "zurückgezogen"
    if code.used_at is not None:
        return "verwendet"
    if code.expires_at <= now:
        return "abgelaufen"
    return "offen"


class IssueForm(forms.Form):
    name = forms.CharField(label="Bezeichnung des Geräts", max_length=100,
                           help_text="z. B. „PC Bürgerbüro“; bei mehreren Codes wird "
                                     "durchnummeriert („PC Bürgerbüro 1“, „… 2“).")
    room = forms.ModelChoiceField(
        label="Raum", queryset=Room.objects.all(), required=False,
        widget=AutocompleteSelect(EnrolmentCode._meta.get_field("room"), admin_site))
    username = forms.CharField(label="an Person gebunden (Benutzername)", max_length=150,
                               required=False,
                               help_text="Leer lassen für einen personenlosen Arbeitsplatz "
                                         "(Empfang, Wartebereich): dann ist der Raum nötig.")
    kind = forms.ChoiceField(label="Art", choices=DeviceToken.Kind.choices,
                             initial=DeviceToken.Kind.WORKSTATION)
    count = forms.IntegerField(label="Anzahl Codes", min_value=1, max_value=MAX_COUNT_HERE,
                               initial=1,
                               help_text=f"Höchstens {MAX_COUNT_HERE}; für größere "
                                         "Verteilungen: „beistand enrolment-codes --csv“.")
    hours = forms.IntegerField(label="gültig (Stunden)", min_value=1,
                               max_value=enrolment.MAX_HOURS, initial=enrolment.DEFAULT_HOURS)
    alarm_templates = forms.CharField(label="auslösbare Alarmvorlagen", max_length=200,
                                      required=False,
                                      help_text="Kennungen, durch Komma getrennt; leer: die "
                                                "Vorlagen der Geräteart.")

    def clean_username(self):
        name = self.cleaned_data["username"].strip()
        if not name:
            return None
        user = get_user_model().objects.filter(username=name, is_active=True).first()
        if user is None:
            raise forms.ValidationError(f"Ein aktives Konto „{name}“ gibt es nicht.")
        return user

    def clean(self):
        data = super().clean()
        if not self.errors and data.get("room") is None and data.get("username") is None:
            raise forms.ValidationError("Ein Gerät muss an einen Raum oder eine Person "
                                        "gebunden sein: bitte einen Raum wählen (oder eine "
                                        "Person angeben).")
        return data

    def seats(self) -> list[dict]:
        data, count = self.cleaned_data, self.cleaned_data["count"]
        return [{"name": data["name"] if count == 1 else f"{data['name']} {n}",
                 "room": data["room"], "user": data["username"]}
                for n in range(1, count + 1)]


@admin.register(EnrolmentCode, site=admin_site)
class EnrolmentCodeAdmin(admin.ModelAdmin):
    list_display = ["shown_prefix", "name", "room", "user", "kind", "created_at", "expires_at",
                    "state", "used_at", "device"]
    list_filter = ["kind"]
    search_fields = ["name", "prefix", "room__number", "room__name", "user__username"]
    list_select_related = ["room", "user", "device"]
    actions = ["revoke"]  # "delete selected" is gone with the delete permission
    fields = ["shown_prefix", "name", "kind", "room", "user", "alarm_templates", "created_by",
              "created_at", "expires_at", "state", "used_at", "device", "revoked_at"]
    readonly_fields = fields

    # Only the administration; the model has no Django permissions (``default_permissions``
    # is empty), the role decides. No editing, no deleting.
    def _admin(self, request) -> bool:
        return has_role(request.user, Role.ADMIN)

    def has_module_permission(self, request):
        return self._admin(request)

    def has_view_permission(self, request, obj=None):
        return self._admin(request)

    def has_add_permission(self, request):
        return self._admin(request)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return enrolment.list_codes(request.user)

    @admin.display(description="Code")
    def shown_prefix(self, obj):
        return f"{obj.prefix}-…"

    @admin.display(description="Status")
    def state(self, obj):
        return status(obj)

    @admin.action(description="Ausgewählte Einmalcodes zurückziehen")
    def revoke(self, request, queryset):
        withdrawn = skipped = 0
        for code in queryset:
            if status(code) != "offen":
                skipped += 1
                continue
            enrolment.revoke_code(request.user, code.pk)
            withdrawn += 1
        if withdrawn:
            self.message_user(request, f"{withdrawn} Einmalcode(s) zurückgezogen – sie koppeln "
                                       "kein Gerät mehr.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"{skipped} Einmalcode(s) nicht zurückgezogen: bereits "
                                       "verwendet, abgelaufen oder zurückgezogen.",
                              messages.WARNING)

    def add_view(self, request, form_url="", extra_context=None):
        """Issue codes (the service checks the role and audits); the codes are shown once."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = IssueForm(request.POST or None)
        issued = None
        if request.method == "POST" and form.is_valid():
            try:
                issued = enrolment.create_codes(
                    request.user, form.seats(), hours=form.cleaned_data["hours"],
                    kind=form.cleaned_data["kind"],
                    alarm_templates=form.cleaned_data["alarm_templates"])
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.detail)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta, "title": "Einmalcodes zur Gerätekopplung ausgeben",
            "form": form, "media": self.media + form.media, "issued": issued,
            "has_view_permission": True, "server_hint": request.build_absolute_uri("/"),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/accounts/enrolmentcode/issue.html", context)
