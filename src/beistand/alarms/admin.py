"""Alarm plans (with their tiers) and alarm templates in the admin site (administrators only).

Writes are audited by the model signals (the admin saves inside a transaction). A plan's scope
must match the one place it is bound to (room, unit or site; none for the default plan).
"""

from django import forms
from django.contrib import admin

from beistand.alarms import plans
from beistand.alarms.models import AlarmPlan, AlarmTemplate, AlarmTier
from beistand.core.admin_site import admin_site

# scope -> the foreign key it needs (the others must stay empty)
SCOPE_FIELDS = {AlarmPlan.Scope.ROOM: "room", AlarmPlan.Scope.UNIT: "unit",
                AlarmPlan.Scope.SITE: "site", AlarmPlan.Scope.DEFAULT: None}


class AlarmPlanForm(forms.ModelForm):
    class Meta:
        model = AlarmPlan
        fields = ["name", "scope", "room", "unit", "site", "all_clear_role"]

    def clean(self):
        data = super().clean()
        scope = data.get("scope")
        if scope not in SCOPE_FIELDS:
            return data
        needed = SCOPE_FIELDS[scope]
        label = dict(AlarmPlan.Scope.choices)[scope]
        for name in ("room", "unit", "site"):
            value = data.get(name)
            if name == needed and value is None:
                self.add_error(name, f"Ein Plan für „{label}“ braucht hier eine Angabe.")
            elif name != needed and value is not None:
                self.add_error(name, f"Bei „{label}“ bitte leer lassen (der Plan gilt nur für "
                                     "die gewählte Art).")
        if scope == AlarmPlan.Scope.DEFAULT:
            others = AlarmPlan.objects.filter(scope=AlarmPlan.Scope.DEFAULT)
            if self.instance.pk:
                others = others.exclude(pk=self.instance.pk)
            if others.exists():
                self.add_error("scope", "Es gibt schon einen Standard-Alarmplan; es kann nur "
                                        "einen geben.")
        return data


class AlarmTierForm(forms.ModelForm):
    class Meta:
        model = AlarmTier
        fields = ["order", "kind", "radius_m", "timeout_s", "acks_needed", "sms_when_offline",
                  "sms_always", "email", "people", "external_phone", "external_email"]

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind == AlarmTier.Kind.EXTERNAL and not (data.get("external_phone")
                                                   or data.get("external_email")):
            self.add_error("external_phone", "Eine externe Leitstelle braucht eine "
                                             "Telefonnummer oder E-Mail-Adresse.")
        if kind == AlarmTier.Kind.PEOPLE and not data.get("people"):
            self.add_error("people", "Bitte mindestens eine Person auswählen.")
        if data.get("acks_needed") == 0:
            self.add_error("acks_needed", "Mindestens eine Zusage.")
        return data


class AlarmTierFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        tiers = [form.cleaned_data for form in self.forms
                 if form.cleaned_data and not form.cleaned_data.get("DELETE")]
        problem = plans.last_resort_problem(tiers)
        if problem:
            raise forms.ValidationError(problem)


class AlarmTierInline(admin.StackedInline):
    model = AlarmTier
    form = AlarmTierForm
    formset = AlarmTierFormSet
    extra = 0
    ordering = ["order"]
    autocomplete_fields = ["people"]
    fields = [("order", "kind"), ("radius_m", "timeout_s", "acks_needed"),
              ("sms_when_offline", "sms_always", "email"), "people",
              ("external_phone", "external_email")]


@admin.register(AlarmPlan, site=admin_site)
class AlarmPlanAdmin(admin.ModelAdmin):
    form = AlarmPlanForm
    list_display = ["name", "scope", "room", "unit", "site", "tier_count"]
    list_filter = ["scope"]
    search_fields = ["name", "unit__code", "unit__name", "site__name", "room__number"]
    autocomplete_fields = ["room", "unit", "site"]
    list_select_related = ["room", "unit", "site"]
    inlines = [AlarmTierInline]

    @admin.display(description="Stufen")
    def tier_count(self, obj):
        return obj.tiers.count()


@admin.register(AlarmTemplate, site=admin_site)
class AlarmTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "audience", "priority", "come", "test", "triggerable",
                    "active", "order"]
    list_filter = ["audience", "active", "test"]
    search_fields = ["code", "name"]
    fields = ["code", "name", "audience", "escalate", "come", "test", "priority", "sound",
              "instructions", "triggerable", "active", "order"]

    def get_readonly_fields(self, request, obj=None):
        # The code is the key clients and the API use: fixed once created.
        return ["code"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        # Past alarms refer to their template (PROTECT): retire it with "aktiv" instead.
        return False
