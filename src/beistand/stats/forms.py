"""The dashboard's filter bar: the API's query parameters as a GET form (KERN UX widgets).

The form only renders and collects the values; ``filters.parse_filters`` checks them, so the
dashboard and the API refuse exactly the same input with the same German messages.
"""

from django import forms

from beistand.organisation.models import OrgUnit, Site
from beistand.reports.forms import KernMixin
from beistand.reports.models import Offence
from beistand.stats.filters import LOCATIONS, PERPETRATOR

ALL = [("", "alle")]
PERIOD_CHOICES = [("month", "Monat"), ("quarter", "Quartal"), ("year", "Jahr")]
DEPTH_CHOICES = [("1", "Dezernate"), ("2", "Ämter"), ("3", "Abteilungen")]


def _date(label: str) -> forms.CharField:
    return forms.CharField(label=label, required=False, max_length=10,
                           widget=forms.DateInput(attrs={"type": "date"}))


class FilterForm(KernMixin, forms.Form):
    period = forms.ChoiceField(label="Zeiteinheit", choices=PERIOD_CHOICES, required=False)
    level = forms.ChoiceField(label="Gefährdungsstufe", required=False,
                              choices=ALL + [(str(i), f"Stufe {i}") for i in range(4)])
    offence = forms.ChoiceField(label="Delikt", required=False)
    unit = forms.ChoiceField(label="Organisationseinheit", required=False)
    unit_depth = forms.ChoiceField(label="Gliederung nach", choices=DEPTH_CHOICES,
                                   required=False)
    site = forms.ChoiceField(label="Standort", required=False)
    location = forms.ChoiceField(label="Ort", required=False,
                                 choices=ALL + list(LOCATIONS.items()))
    perpetrator = forms.ChoiceField(label="Täter/in", required=False,
                                    choices=ALL + list(PERPETRATOR.items()))
    police = forms.ChoiceField(label="Polizei vor Ort", required=False,
                               choices=[*ALL, ("true", "ja"), ("false", "nein")])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # "from"/"to" are the API's names (and Python keywords): added by name.
        self.fields = {"from": _date("von"), "to": _date("bis"), **self.fields}
        self.fields["offence"].choices = ALL + list(
            Offence.objects.order_by("level", "sort").values_list("code", "label"))
        self.fields["unit"].choices = ALL + [
            (code, f"{code} {name}") for code, name in
            OrgUnit.objects.order_by("code").values_list("code", "name")]
        self.fields["site"].choices = ALL + [
            (str(pk), name) for pk, name in Site.objects.order_by("name").values_list("pk",
                                                                                      "name")]
        self._style()

    def params(self) -> dict[str, str]:
        """The submitted values as the service expects them (choices are checked there)."""
        data = self.data
        return {name: str(data.get(name, "")).strip() for name in self.fields
                if name != "period" and str(data.get(name, "")).strip()}

    def chosen_period(self) -> str:
        value = str(self.data.get("period", "") or "quarter")
        return value if value in dict(PERIOD_CHOICES) else "quarter"

    def show_error(self, field: str | None, detail: str) -> None:
        if field in self.fields:
            self.add_error(field, detail)
            self.mark_error(field)
        else:
            self.add_error(None, detail)
