"""Forms of the report pages. They only parse and check the shape of the input (German
messages); the rules (future dates, who may act, thresholds) are checked by reports.services,
whose errors the views put back onto these forms."""

import re
from datetime import datetime

from django import forms
from django.db.models import Q
from django.utils import timezone

from beistand.organisation.models import Employee, Room
from beistand.reports import services
from beistand.reports.services import PerpetratorInput, ReportInput, WitnessInput

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"

# Hazard levels of the Aachener Modell, as shown to the reporter.
LEVELS = {
    0: ("Stufe 0", "Normales bis kontroverses Gespräch – Sie klären die Lage selbst."),
    1: ("Stufe 1", "Unangemessenes Sozialverhalten, verbale Aggression, Beleidigung – Gespräch "
                   "abbrechen, Vorgesetzte oder Kolleginnen und Kollegen unterstützen."),
    2: ("Stufe 2", "Sachbeschädigung, körperliche Gewalt, Bedrohung, Nötigung – Sicherheitsdienst "
                   "oder Polizei rufen."),
    3: ("Stufe 3", "Waffen oder gefährliche Werkzeuge, Bombendrohung, Amok, Geiselnahme, Raub – "
                   "sofort Polizei (110)."),
}

UNIT_NAMES = {"11": "Personalverwaltung (Amt 11)", "I/2": "Betriebliche Sozialberatung (I/2)",
              "I/3": "Zentrale Koordinierungsstelle (ZKS I/3)"}


class KernMixin:
    """KERN UX classes on the widgets; fields with errors get the error modifier."""

    def _style(self):
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, (forms.CheckboxSelectMultiple, forms.RadioSelect)):
                continue
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs["class"] = "kern-form-check__checkbox"
            elif isinstance(widget, forms.Select):
                widget.attrs["class"] = "kern-form-input__select"
            elif isinstance(widget, forms.Textarea):
                widget.attrs["class"] = "kern-form-input__input"
                widget.attrs.setdefault("rows", 4)
            elif not isinstance(widget, forms.HiddenInput):
                widget.attrs["class"] = "kern-form-input__input"

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            self.mark_error(name)

    def mark_error(self, name):
        if name not in self.fields:
            return
        attrs = self.fields[name].widget.attrs
        base = attrs.get("class", "").split(" ")[0]
        if base and f"{base}--error" not in attrs["class"]:
            attrs["class"] = f"{base} {base}--error"

    def service_error(self, field, detail):
        """Show a service's InvalidInput at ``field`` (or above the form)."""
        self.add_error(field if field in self.fields else None, detail)
        self.mark_error(field)


def _text(label, max_length=200, **attrs):
    return forms.CharField(label=label, max_length=max_length, required=False,
                           widget=forms.TextInput(attrs=attrs))


def _parse_decimal(value):
    value = (value or "").strip().replace(",", ".")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise forms.ValidationError("Bitte eine Zahl angeben, z. B. 50.9375.") from None


def room_choices():
    rooms = Room.objects.select_related("floor__building__site")
    return [("", "– Raum wählen –")] + [
        (str(r.pk), f"{r.floor.building.site.name} · {r.floor.building.name} · Raum {r.number}"
                    + (f" ({r.name})" if r.name else ""))
        for r in rooms]


class ReportForm(KernMixin, forms.Form):
    occurred_at = forms.DateTimeField(
        label="Wann ist es passiert?", input_formats=[DATETIME_LOCAL, "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
        error_messages={"required": "Bitte geben Sie an, wann der Vorfall war.",
                        "invalid": "Bitte Datum und Uhrzeit angeben (TT.MM.JJJJ, hh:mm)."})
    location_kind = forms.ChoiceField(
        label="Wo ist es passiert?", widget=forms.RadioSelect, initial="office",
        choices=[("office", "In der Dienststelle"), ("field", "Im Außendienst")],
        error_messages={"required": "Bitte wählen Sie, wo der Vorfall war.",
                        "invalid_choice": "Bitte „In der Dienststelle“ oder „Im Außendienst“ "
                                          "wählen."})
    room = forms.ChoiceField(
        label="Raum", required=False,
        help_text="Vorausgewählt ist Ihr eigener Raum.",
        error_messages={"invalid_choice": "Diesen Raum gibt es nicht. Bitte wählen Sie einen "
                                          "Raum aus der Liste."})
    address = forms.CharField(
        label="Adresse des Einsatzortes", max_length=300, required=False,
        help_text="Pflichtangabe bei Vorfällen im Außendienst.",
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}))
    lat = forms.CharField(label="Breitengrad", required=False, max_length=20,
                          widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    lon = forms.CharField(label="Längengrad", required=False, max_length=20,
                          widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    offences = forms.MultipleChoiceField(
        label="Was ist passiert?", widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Bitte wählen Sie mindestens ein Delikt aus.",
                        "invalid_choice": "Dieses Delikt gibt es nicht im Katalog."})
    description = forms.CharField(
        label="Schilderung", max_length=10000, widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Was ist geschehen? Kurz und sachlich; Namen der Person bitte unten eintragen.",
        error_messages={"required": "Bitte schildern Sie kurz, was geschehen ist."})
    victim_self = forms.BooleanField(label="Ich selbst bin betroffen", required=False,
                                     initial=True)
    injuries = forms.CharField(label="Verletzungen", required=False, max_length=2000,
                               widget=forms.Textarea(attrs={"rows": 3}))
    incapacity_days = forms.IntegerField(
        label="Voraussichtliche Tage der Arbeitsunfähigkeit", required=False, min_value=0,
        max_value=365, widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        help_text="Ab mehr als 3 Tagen wird eine Unfallanzeige erstellt.",
        error_messages={"invalid": "Bitte eine ganze Zahl angeben.",
                        "min_value": "Bitte eine Zahl von 0 bis 365 angeben.",
                        "max_value": "Bitte eine Zahl von 0 bis 365 angeben."})
    police_on_site = forms.BooleanField(label="Die Polizei war vor Ort", required=False)
    police_on_site_file_number = _text("Aktenzeichen der Polizei", 60)
    house_ban_issued = forms.BooleanField(label="Ein Hausverbot wurde ausgesprochen",
                                          required=False)
    help_offers = forms.MultipleChoiceField(
        label="Welche Unterstützung wünschen Sie?", required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "Dieses Hilfsangebot gibt es nicht."})

    def __init__(self, *args, reporter=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.offence_catalogue = services.offence_catalogue()
        self.help_catalogue = services.help_offer_catalogue()
        self.fields["offences"].choices = [(o.code, o.label) for o in self.offence_catalogue]
        self.fields["help_offers"].choices = [(h.code, h.label) for h in self.help_catalogue]
        self.fields["room"].choices = room_choices()
        if not self.is_bound:
            self.initial.setdefault(
                "occurred_at", timezone.localtime().replace(second=0, microsecond=0))
            if reporter is not None and reporter.room_id:
                self.initial.setdefault("room", str(reporter.room_id))
        self._style()

    def clean_lat(self):
        return _parse_decimal(self.cleaned_data.get("lat"))

    def clean_lon(self):
        return _parse_decimal(self.cleaned_data.get("lon"))

    def clean(self):
        data = super().clean()
        if data.get("location_kind") == "field" and not (data.get("address") or "").strip():
            self.add_error("address", "Bitte geben Sie die Adresse des Einsatzortes an.")
        return data

    # --- grouped rendering -----------------------------------------------------------------

    def offence_groups(self):
        """[(level, title, explanation, [bound checkbox])] in catalogue order."""
        selected = set(self["offences"].value() or [])
        groups = {}
        for index, offence in enumerate(self.offence_catalogue):
            groups.setdefault(offence.level, []).append(
                {"code": offence.code, "label": offence.label, "attack": offence.attack,
                 "id": f"id_offences_{index}", "checked": offence.code in selected})
        return [(level, *LEVELS.get(level, (f"Stufe {level}", "")), items)
                for level, items in sorted(groups.items())]

    def help_items(self):
        selected = set(self["help_offers"].value() or [])
        return [{"code": h.code, "label": h.label, "description": h.description,
                 "unit": UNIT_NAMES.get(h.unit_code, h.unit_code), "id": f"id_help_{i}",
                 "checked": h.code in selected}
                for i, h in enumerate(self.help_catalogue)]


def find_colleagues(query: str, limit: int = 10) -> list[Employee]:
    """Active employees matching a name or personnel number (for the victim search)."""
    query = (query or "").strip()
    if len(query) < 2:
        return []
    q = Q()
    for word in query.replace(",", " ").split():
        q &= (Q(last_name__icontains=word) | Q(first_name__icontains=word)
              | Q(personnel_number__iexact=word))
    return list(Employee.objects.filter(q, active=True).select_related("unit")[:limit])


def colleague_label(employee: Employee) -> str:
    return f"{employee.last_name}, {employee.first_name} ({employee.personnel_number})"


_PERSONNEL_NUMBER = re.compile(r"\(([^()]+)\)\s*$")


class VictimForm(KernMixin, forms.Form):
    colleague = forms.CharField(
        label="Betroffene Kollegin / betroffener Kollege", max_length=250, required=False,
        help_text="Name oder Personalnummer eingeben und aus der Liste wählen.",
        widget=forms.TextInput(attrs={"list": "colleague-options", "autocomplete": "off",
                                      "data-colleague-search": ""}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def clean_colleague(self):
        text = (self.cleaned_data.get("colleague") or "").strip()
        self.employee = None
        if not text:
            return text
        match = _PERSONNEL_NUMBER.search(text)
        active = Employee.objects.filter(active=True)
        if match:
            found = list(active.filter(personnel_number=match.group(1).strip()))
        else:
            found = list(active.filter(personnel_number__iexact=text))
            if not found:
                found = [e for e in find_colleagues(text, limit=5)
                         if text.lower() in (colleague_label(e).lower(),
                                             e.full_name.lower(),
                                             f"{e.last_name}, {e.first_name}".lower())]
                if not found:
                    found = find_colleagues(text, limit=5)
        if not found:
            raise forms.ValidationError(f"„{text}“ ist keine aktive Beschäftigte/kein aktiver "
                                        "Beschäftigter dieser Behörde.")
        if len(found) > 1:
            names = "; ".join(colleague_label(e) for e in found[:3])
            raise forms.ValidationError(f"Mehrere Treffer für „{text}“: {names}. Bitte die "
                                        "Personalnummer in Klammern ergänzen.")
        self.employee = found[0]
        return colleague_label(found[0])


class PerpetratorForm(KernMixin, forms.Form):
    known = forms.ChoiceField(
        label="Ist die Person bekannt?", widget=forms.RadioSelect, initial="known",
        choices=[("known", "Name bekannt"), ("unknown", "Unbekannt")], required=False)
    last_name = _text("Name", 100, autocomplete="off")
    first_names = _text("Vornamen", 150, autocomplete="off")
    birth_name = _text("Geburtsname", 100, autocomplete="off")
    aliases = _text("Weitere Namen (durch Komma getrennt)", 300, autocomplete="off")
    date_of_birth = forms.DateField(
        label="Geburtsdatum", required=False, widget=forms.DateInput(attrs={"type": "date"},
                                                                    format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d.%m.%Y"],
        error_messages={"invalid": "Bitte ein Datum angeben (TT.MM.JJJJ)."})
    street = _text("Straße", 150, autocomplete="off")
    house_number = _text("Hausnummer", 20, autocomplete="off")
    postal_code = _text("PLZ", 10, autocomplete="off", inputmode="numeric")
    city = _text("Ort", 100, autocomplete="off")
    description = forms.CharField(
        label="Beschreibung (Aussehen, Auftreten)", required=False, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Keine Angaben zur Gesundheit.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def clean(self):
        data = super().clean()
        if data.get("known", "known") != "unknown" and _is_filled(self) \
                and not (data.get("last_name") or "").strip():
            self.add_error("last_name", "Bei einer bekannten Person ist der Name erforderlich. "
                                        "Sonst wählen Sie „Unbekannt“.")
        return data

    def to_input(self) -> PerpetratorInput:
        d = self.cleaned_data
        return PerpetratorInput(
            known=d.get("known") != "unknown", last_name=d.get("last_name", ""),
            first_names=d.get("first_names", ""), birth_name=d.get("birth_name", ""),
            aliases=[a.strip() for a in (d.get("aliases") or "").split(",") if a.strip()],
            date_of_birth=d.get("date_of_birth"), street=d.get("street", ""),
            house_number=d.get("house_number", ""), postal_code=d.get("postal_code", ""),
            city=d.get("city", ""), description=d.get("description", ""))


class WitnessForm(KernMixin, forms.Form):
    name = _text("Name der Zeugin / des Zeugen", 200, autocomplete="off")
    contact = _text("Erreichbarkeit (Telefon, Dienststelle)", 200, autocomplete="off")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def clean(self):
        data = super().clean()
        if _is_filled(self) and not (data.get("name") or "").strip():
            self.add_error("name", "Bitte den Namen der Zeugin/des Zeugen angeben.")
        return data


def _is_filled(form) -> bool:
    """A block counts when any of its fields (other than the known/unknown choice) has a value."""
    data = getattr(form, "cleaned_data", None) or {}
    return any(value not in (None, "", []) for name, value in data.items() if name != "known")


class _Formset(forms.BaseFormSet):
    def filled(self):
        return [f for f in self.forms if f.is_valid() and _is_filled(f)]


VictimFormSet = forms.formset_factory(VictimForm, formset=_Formset, extra=0, max_num=50,
                                      absolute_max=50)
PerpetratorFormSet = forms.formset_factory(PerpetratorForm, formset=_Formset, extra=1,
                                           max_num=20, absolute_max=20)
WitnessFormSet = forms.formset_factory(WitnessForm, formset=_Formset, extra=0, max_num=20,
                                       absolute_max=20)

FORMSETS = (("victims", "v", VictimFormSet), ("perpetrators", "p", PerpetratorFormSet),
            ("witnesses", "w", WitnessFormSet))


class ReportForms:
    """The report form with its three repeatable parts (victims, perpetrators, witnesses)."""

    def __init__(self, data=None, *, reporter=None, initial=None, add=None):
        initial = initial or {}
        self.bound = data is not None
        if data is not None and add:
            # Without JavaScript, "add another" posts the form and gets one more empty block.
            data = data.copy()
            for name, prefix, _ in FORMSETS:
                if name == add:
                    key = f"{prefix}-TOTAL_FORMS"
                    try:
                        data[key] = str(min(int(data.get(key, "0")) + 1, 20))
                    except ValueError:
                        data[key] = "1"
        self.main = ReportForm(data, reporter=reporter, initial=initial.get("main"))
        self.sets = {}
        for name, prefix, cls in FORMSETS:
            self.sets[name] = cls(data, prefix=prefix, initial=initial.get(name))

    @property
    def victims(self):
        return self.sets["victims"]

    @property
    def perpetrators(self):
        return self.sets["perpetrators"]

    @property
    def witnesses(self):
        return self.sets["witnesses"]

    def is_valid(self) -> bool:
        valid = self.main.is_valid()
        for formset in self.sets.values():
            valid = formset.is_valid() and valid
        if valid and not self.main.cleaned_data.get("victim_self") \
                and not self.victims.filled():
            self.main.add_error("victim_self", "Bitte geben Sie an, wer betroffen ist: Sie "
                                               "selbst und/oder Kolleginnen und Kollegen.")
            valid = False
        return valid

    def to_input(self, reporter) -> ReportInput:
        d = self.main.cleaned_data
        victim_ids = [reporter.pk] if d.get("victim_self") else []
        victim_ids += [f.employee.pk for f in self.victims.filled() if f.employee]
        room = d.get("room")
        occurred_at = d["occurred_at"]
        if isinstance(occurred_at, datetime) and timezone.is_naive(occurred_at):
            occurred_at = timezone.make_aware(occurred_at)
        return ReportInput(
            occurred_at=occurred_at, offences=list(d.get("offences") or []),
            description=d.get("description", ""), location_kind=d.get("location_kind"),
            room_id=int(room) if room else None, address=d.get("address", ""),
            lat=d.get("lat"), lon=d.get("lon"), victim_ids=list(dict.fromkeys(victim_ids)),
            perpetrators=[f.to_input() for f in self.perpetrators.filled()],
            witnesses=[WitnessInput(name=f.cleaned_data["name"],
                                    contact=f.cleaned_data.get("contact", ""))
                       for f in self.witnesses.filled()],
            injuries=d.get("injuries", ""), incapacity_days=d.get("incapacity_days"),
            police_on_site=bool(d.get("police_on_site")),
            police_on_site_file_number=d.get("police_on_site_file_number", ""),
            house_ban_issued=bool(d.get("house_ban_issued")),
            help_offers=list(d.get("help_offers") or []))

    # Service error fields ("location.room_id", "perpetrators.0.last_name") → form fields.
    MAIN_FIELDS = {"occurred_at": "occurred_at", "offences": "offences",
                   "description": "description", "location.room_id": "room",
                   "location.address": "address", "location.lat": "lat", "location.lon": "lon",
                   "location.kind": "location_kind", "victims": "victim_self",
                   "incapacity_days": "incapacity_days", "help_offers": "help_offers"}

    def apply_service_error(self, field: str | None, detail: str) -> None:
        if field in self.MAIN_FIELDS:
            self.main.service_error(self.MAIN_FIELDS[field], detail)
            return
        parts = (field or "").split(".")
        if len(parts) == 3 and parts[0] in ("perpetrators", "witnesses") and parts[1].isdigit():
            filled = self.sets[parts[0]].filled()
            index = int(parts[1])
            if index < len(filled):
                name = {"employee_id": "name"}.get(parts[2], parts[2])
                filled[index].service_error(name, detail)
                return
        self.main.service_error(None, detail)

    def error_summary(self) -> list[tuple[str, str, str]]:
        """[(anchor id, label, message)] for the summary at the top of the form."""
        items = []
        for error in self.main.non_field_errors():
            items.append(("report-form", "", error))
        for bound in self.main:
            for error in bound.errors:
                anchor = bound.id_for_label or bound.auto_id
                # Checkbox and radio groups: jump to their first box.
                anchor = {"offences": "id_offences_0", "help_offers": "id_help_0",
                          "location_kind": "id_location_kind_0"}.get(bound.name, anchor)
                items.append((anchor, bound.label, error))
        for name, _, _ in FORMSETS:
            for position, form in enumerate(self.sets[name].forms, start=1):
                for bound in form:
                    for error in bound.errors:
                        label = {"victims": "Betroffene", "perpetrators": "Person",
                                 "witnesses": "Zeuge/Zeugin"}[name]
                        items.append((bound.id_for_label, f"{label} {position}: {bound.label}",
                                      error))
                for error in form.non_field_errors():
                    items.append((form.prefix, "", error))
        return items

    def has_errors(self) -> bool:
        return bool(self.error_summary())


def initial_from_report(report) -> dict:
    """Initial data of the edit form from a saved report."""
    reporter_id = report.reporter_id
    victims = list(report.victims.all())
    main = {
        "occurred_at": timezone.localtime(report.occurred_at).replace(second=0, microsecond=0),
        "location_kind": report.location_kind, "room": str(report.room_id or ""),
        "address": report.address,
        "lat": "" if report.latitude is None else str(report.latitude),
        "lon": "" if report.longitude is None else str(report.longitude),
        "offences": [o.code for o in report.offences.all()],
        "description": report.description,
        "victim_self": any(v.pk == reporter_id for v in victims),
        "injuries": report.injuries, "incapacity_days": report.incapacity_days,
        "police_on_site": report.police_on_site,
        "police_on_site_file_number": report.police_on_site_file_number,
        "house_ban_issued": report.house_ban_issued,
        "help_offers": list(report.help_requests.values_list("offer_id", flat=True)),
    }
    return {
        "main": main,
        "victims": [{"colleague": colleague_label(v)} for v in victims if v.pk != reporter_id],
        "perpetrators": [{
            "known": "known" if p.known else "unknown", "last_name": p.last_name,
            "first_names": p.first_names, "birth_name": p.birth_name,
            "aliases": ", ".join(p.aliases or []), "date_of_birth": p.date_of_birth,
            "street": p.street, "house_number": p.house_number, "postal_code": p.postal_code,
            "city": p.city, "description": p.description} for p in report.perpetrators.all()],
        "witnesses": [{"name": w.name or str(w.employee or ""), "contact": w.contact}
                      for w in report.witnesses.all()],
    }


# --- Actions on the case page ---------------------------------------------------------------

ACTION_TEXT = {
    "submit": ("Meldung absenden", "Die Meldung geht an Ihre Vorgesetzte/Ihren Vorgesetzten "
                                   "und an die ZKS."),
    "resubmit": ("Erneut einreichen", "Die überarbeitete Meldung geht wieder zur Freigabe."),
    "release": ("Freigeben", "Sie haben die Meldung geprüft; sie geht an die "
                             "Personalverwaltung (Strafanzeige)."),
    "return": ("Zurückgeben", "Die Meldung geht mit Ihrem Kommentar an die meldende Person "
                              "zurück."),
    "file_complaint": ("Anzeige erfassen", "Tragen Sie das Aktenzeichen der Strafanzeige, das "
                                           "Datum der Anzeige/des Strafantrags oder das Datum "
                                           "des Hausverbots ein."),
    "publish": ("Im Register veröffentlichen", ""),
    "close": ("Abschließen", "Die Meldung wird ohne Eintrag im Register abgeschlossen."),
}
