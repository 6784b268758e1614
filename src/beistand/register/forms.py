"""Forms of the register pages: the querier's look-up (person / address) and the ZKS/DPO forms.

The forms check what a person can correct at once (purpose missing, only a last name, a
wildcard); the look-up service checks the same rules again and its InvalidInput is shown at the
field. A rejected look-up is never logged: the service is not called, or refuses before writing.
"""

import re

from django import forms

from beistand.reports.forms import KernMixin

# Characters that would turn a look-up into browsing ("Mei*", "%", "_", "?").
WILDCARD = re.compile(r"[*%?_]")
WILDCARD_ERROR = ("Platzhalter wie * oder ? sind nicht erlaubt. Bitte geben Sie den Namen "
                  "vollständig an – die Suche findet auch abweichende Schreibweisen.")


def _text(label, max_length=100, required=False, **attrs):
    return forms.CharField(label=label, max_length=max_length, required=required,
                           widget=forms.TextInput(attrs=attrs))


def _no_wildcard(value: str) -> str:
    value = (value or "").strip()
    if WILDCARD.search(value):
        raise forms.ValidationError(WILDCARD_ERROR)
    return value


class _PurposeMixin:
    def clean_purpose(self):
        value = (self.cleaned_data.get("purpose") or "").strip()
        if len(value) < 5:
            raise forms.ValidationError(
                "Bitte geben Sie den dienstlichen Anlass an, z. B. Aktenzeichen und Termin.")
        return value


PURPOSE_HELP = ("Aktenzeichen und Anlass, z. B. „Az. 51/4-123, Hausbesuch am 24.11.“. "
                "Jede Abfrage wird mit diesem Zweck protokolliert.")


class PersonLookupForm(_PurposeMixin, KernMixin, forms.Form):
    purpose = _text("Zweck der Abfrage", max_length=500, required=True, autocomplete="off")
    last_name = _text("Name", autocomplete="off", autocapitalize="words", spellcheck="false")
    first_name = _text("Vorname", autocomplete="off", autocapitalize="words",
                       spellcheck="false")
    date_of_birth = forms.DateField(
        label="Geburtsdatum", required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Bitte ein gültiges Datum angeben (TT.MM.JJJJ)."})
    street = _text("Straße und Hausnummer", max_length=150, autocomplete="off")
    postal_code = _text("PLZ", max_length=10, autocomplete="off", inputmode="numeric")
    city = _text("Ort", autocomplete="off")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["purpose"].help_text = PURPOSE_HELP
        self.fields["last_name"].required = True
        self.fields["last_name"].error_messages["required"] = "Bitte geben Sie den Namen an."
        self.fields["purpose"].error_messages["required"] = (
            "Bitte geben Sie den dienstlichen Anlass an, z. B. Aktenzeichen und Termin.")
        self.fields["first_name"].help_text = ("Mindestens Vorname, Geburtsdatum oder Anschrift "
                                               "zusätzlich zum Namen.")
        self._style()

    def clean_last_name(self):
        value = _no_wildcard(self.cleaned_data.get("last_name"))
        if value and len(re.sub(r"\W", "", value)) < 2:
            raise forms.ValidationError("Bitte geben Sie den Namen vollständig an.")
        return value

    def clean_first_name(self):
        return _no_wildcard(self.cleaned_data.get("first_name"))

    def clean_street(self):
        return _no_wildcard(self.cleaned_data.get("street"))

    def clean_postal_code(self):
        return _no_wildcard(self.cleaned_data.get("postal_code"))

    def clean_city(self):
        return _no_wildcard(self.cleaned_data.get("city"))

    def clean(self):
        data = super().clean()
        if self.errors.get("last_name") or self.errors.get("date_of_birth"):
            return data
        has_address = data.get("street") or data.get("postal_code") or data.get("city")
        if not (data.get("first_name") or data.get("date_of_birth") or has_address):
            self.add_error("first_name", "Der Name allein reicht nicht: Bitte geben Sie "
                                         "zusätzlich Vorname, Geburtsdatum oder Anschrift an.")
        return data

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        return {"purpose": d["purpose"], "last_name": d["last_name"],
                "first_name": d["first_name"] or None, "date_of_birth": d["date_of_birth"],
                "street": d["street"] or None, "postal_code": d["postal_code"] or None,
                "city": d["city"] or None}


class AddressLookupForm(_PurposeMixin, KernMixin, forms.Form):
    """"Anschrift prüfen": is anyone registered at the address of a planned home visit?"""

    purpose = _text("Zweck der Abfrage", max_length=500, required=True, autocomplete="off")
    street = _text("Straße", max_length=150, required=True, autocomplete="off")
    house_number = _text("Hausnummer", max_length=20, autocomplete="off")
    postal_code = _text("PLZ", max_length=10, required=True, autocomplete="off",
                        inputmode="numeric")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "a")
        super().__init__(*args, **kwargs)
        self.fields["purpose"].help_text = PURPOSE_HELP
        self.fields["purpose"].error_messages["required"] = (
            "Bitte geben Sie den dienstlichen Anlass an, z. B. Aktenzeichen und Termin.")
        self.fields["street"].error_messages["required"] = "Bitte geben Sie die Straße an."
        self.fields["postal_code"].error_messages["required"] = "Bitte geben Sie die PLZ an."
        self._style()

    def clean_street(self):
        value = _no_wildcard(self.cleaned_data.get("street"))
        if value and len(re.sub(r"\W", "", value)) < 3:
            raise forms.ValidationError("Bitte geben Sie die Straße vollständig an.")
        return value

    def clean_house_number(self):
        return _no_wildcard(self.cleaned_data.get("house_number"))

    def clean_postal_code(self):
        value = _no_wildcard(self.cleaned_data.get("postal_code"))
        if value and not re.fullmatch(r"\d{5}", value):
            raise forms.ValidationError("Bitte eine fünfstellige Postleitzahl angeben.")
        return value

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        return {"purpose": d["purpose"], "street": d["street"], "postal_code": d["postal_code"],
                "house_number": d["house_number"] or None}


class AccessLogFilterForm(KernMixin, forms.Form):
    """The DPO's filter of the access log (GET)."""

    querier = _text("Abfragende Person", autocomplete="off")
    person_id = forms.IntegerField(label="Personen-Nr.", required=False,
                                   min_value=1, error_messages={
                                       "invalid": "Bitte eine Nummer angeben.",
                                       "min_value": "Bitte eine Nummer ab 1 angeben."})
    since = forms.DateField(label="von", required=False,
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                            error_messages={"invalid": "Bitte ein gültiges Datum angeben."})
    until = forms.DateField(label="bis", required=False,
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                            error_messages={"invalid": "Bitte ein gültiges Datum angeben."})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "Das Ende liegt vor dem Beginn des Zeitraums.")
        return data


class ReasonForm(KernMixin, forms.Form):
    reason = forms.CharField(label="Begründung", max_length=1000,
                             widget=forms.Textarea(attrs={"rows": 2}),
                             error_messages={"required": "Bitte geben Sie eine Begründung an."})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()
