"""The register of dangerous persons (BSchG NRW "Melde- und Auskunftsregister").

Least data: a person's identity, addresses with validity, the published incidents (hazard
level, offence categories, date) and recommended protective measures. Nothing about reporters,
victims or witnesses is ever stored here. ``SearchKey`` rows are precomputed, indexed matching
keys so a lookup never scans the person table; ``Lookup`` is the BZRG §21a-style access log
(its own retention: one year).
"""

from django.conf import settings
from django.db import models


class ProtectiveMeasure(models.Model):
    """Catalogue of recommended protective measures (editable by the admin)."""

    code = models.SlugField("Kennung", max_length=40, primary_key=True)
    label = models.CharField("Bezeichnung", max_length=150)
    active = models.BooleanField("aktiv", default=True)
    sort = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = "Schutzmaßnahme"
        verbose_name_plural = "Schutzmaßnahmen"
        ordering = ["sort", "label"]

    def __str__(self):
        return self.label


class RegisterPerson(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "aktiv"
        RESTRICTED = "restricted", "eingeschränkt"
        DELETED = "deleted", "gelöscht"

    last_name = models.CharField("Name", max_length=100)
    first_names = models.CharField("Vornamen", max_length=150, blank=True)
    birth_name = models.CharField("Geburtsname", max_length=100, blank=True)
    aliases = models.JSONField("weitere Namen", default=list, blank=True)
    date_of_birth = models.DateField("Geburtsdatum", null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE,
                              db_index=True)
    status_reason = models.CharField("Grund der Einschränkung/Löschung", max_length=500,
                                     blank=True)
    # Cached from the entries: highest hazard level and the newest incident.
    hazard_level = models.PositiveSmallIntegerField("Gefährdungsstufe", default=0)
    last_incident_on = models.DateField("letzter Vorfall", null=True, blank=True)
    measures = models.ManyToManyField(ProtectiveMeasure, blank=True, related_name="+",
                                      verbose_name="empfohlene Schutzmaßnahmen")
    zks_contact = models.ForeignKey("organisation.Employee", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+",
                                    verbose_name="Ansprechperson ZKS")
    review_on = models.DateField("Prüfung am", null=True, blank=True, db_index=True)
    delete_on = models.DateField("Löschung am", null=True, blank=True, db_index=True)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="merged_from")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "gefährdende Person"
        verbose_name_plural = "gefährdende Personen"
        default_permissions = ()

    def __str__(self):
        return f"{self.last_name}, {self.first_names}".strip(", ")


class DistinctPersons(models.Model):
    """The ZKS's decision that two persons the matcher finds alike are two people ("andere
    Person"): the pair is no longer offered as a possible duplicate. Ids only (the reason is in
    the audit event); ``person_a`` has the lower id."""

    person_a = models.ForeignKey(RegisterPerson, on_delete=models.CASCADE, related_name="+")
    person_b = models.ForeignKey(RegisterPerson, on_delete=models.CASCADE, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "verschiedene Personen"
        verbose_name_plural = "verschiedene Personen"
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["person_a", "person_b"], name="distinct_pair_once"),
            models.CheckConstraint(condition=models.Q(person_a__lt=models.F("person_b")),
                                   name="distinct_pair_ordered"),
        ]

    def __str__(self):
        return f"Person #{self.person_a_id} ≠ Person #{self.person_b_id}"


class RegisterAddress(models.Model):
    person = models.ForeignKey(RegisterPerson, on_delete=models.CASCADE,
                               related_name="addresses")
    street = models.CharField("Straße", max_length=150)
    house_number = models.CharField("Hausnummer", max_length=20, blank=True)
    postal_code = models.CharField("PLZ", max_length=10)
    city = models.CharField("Ort", max_length=100, blank=True)
    valid_from = models.DateField("gültig ab", null=True, blank=True)
    valid_to = models.DateField("gültig bis", null=True, blank=True,
                                help_text="leer: aktuelle Anschrift")

    class Meta:
        verbose_name = "Anschrift"
        verbose_name_plural = "Anschriften"
        default_permissions = ()

    def __str__(self):
        return f"{self.street} {self.house_number}, {self.postal_code} {self.city}".strip()


class RegisterEntry(models.Model):
    """One incident about a person: published from a report, or imported from a legacy register."""

    class Source(models.TextChoices):
        REPORT = "report", "Meldung"
        IMPORT = "import", "Übernahme aus Altregister"

    person = models.ForeignKey(RegisterPerson, on_delete=models.CASCADE, related_name="entries")
    # Link back to the case for the ZKS; queriers never follow it (no reporter data).
    report = models.ForeignKey("reports.Report", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="register_entries")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.REPORT)
    hazard_level = models.PositiveSmallIntegerField()
    offences = models.ManyToManyField("reports.Offence", related_name="+")
    incident_date = models.DateField()
    published_at = models.DateTimeField(auto_now_add=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = "Registereintrag"
        verbose_name_plural = "Registereinträge"
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["person", "report"],
                                               name="uniq_register_entry_per_report")]

    def __str__(self):
        return f"{self.person} – Stufe {self.hazard_level}"


class SearchKey(models.Model):
    """A precomputed matching key of a person (normalised name, phonetic code, date, address).

    Rebuilt whenever the person's identity or addresses change; deleted with the person.
    """

    person = models.ForeignKey(RegisterPerson, on_delete=models.CASCADE,
                               related_name="search_keys")
    kind = models.CharField(max_length=16)
    value = models.CharField(max_length=120)

    class Meta:
        default_permissions = ()
        indexes = [models.Index(fields=["kind", "value"], name="register_key_lookup")]

    def __str__(self):
        return f"{self.kind}:{self.value}"


class Lookup(models.Model):
    """Access log (BZRG §21a style): who asked what, why, and what was shown. DPO only."""

    class Kind(models.TextChoices):
        PERSON = "person", "Personenabfrage"
        ADDRESS = "address", "Anschriftenabfrage"
        DETAIL = "detail", "Detailansicht"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    querier = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                related_name="+")
    querier_label = models.CharField(max_length=200)
    unit_code = models.CharField(max_length=30, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    purpose = models.CharField("Zweck / Aktenzeichen", max_length=500)
    query = models.JSONField(default=dict)
    # Person ids shown (candidates, or the one detail).
    shown = models.JSONField(default=list)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="details")
    keep_for_audit = models.BooleanField("für laufende Prüfung aufbewahren", default=False)

    class Meta:
        verbose_name = "Abfrage"
        verbose_name_plural = "Abfrageprotokoll"
        ordering = ["-at"]
        default_permissions = ()

    def __str__(self):
        return f"{self.get_kind_display()} {self.at:%d.%m.%Y %H:%M} ({self.querier_label})"


class RightsRequest(models.Model):
    """A data subject's request or a duty towards them, with the Art. 12(3) one-month deadline."""

    class Kind(models.TextChoices):
        NOTIFICATION = "art14", "Information nach Art. 14 DSGVO"
        ACCESS = "art15", "Auskunft nach Art. 15 DSGVO"
        RECTIFICATION = "art16", "Berichtigung nach Art. 16 DSGVO"
        ERASURE = "art17", "Löschung nach Art. 17 DSGVO"
        RESTRICTION = "art18", "Einschränkung nach Art. 18 DSGVO"
        OBJECTION = "art21", "Widerspruch nach Art. 21 DSGVO"

    class State(models.TextChoices):
        OPEN = "open", "offen"
        DEFERRED = "deferred", "zurückgestellt"
        GRANTED = "granted", "stattgegeben"
        REFUSED = "refused", "abgelehnt"
        DONE = "done", "erledigt"
        LAPSED = "lapsed", "entfallen"

    person = models.ForeignKey(RegisterPerson, on_delete=models.CASCADE,
                               related_name="rights_requests")
    # The Art. 14 information is owed per entry: the entry it is about (None for requests of
    # the person, and for information opened before entries were named).
    entry = models.ForeignKey("RegisterEntry", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", verbose_name="Eintragung")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    received_on = models.DateField("eingegangen am")
    due_on = models.DateField("Frist", db_index=True)
    details = models.TextField("Anliegen", blank=True)
    decision_reason = models.TextField("Begründung", blank=True)
    defer_until = models.DateField("zurückgestellt bis", null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "Betroffenenrecht"
        verbose_name_plural = "Betroffenenrechte"
        ordering = ["due_on"]
        default_permissions = ()

    def __str__(self):
        return f"{self.get_kind_display()} – {self.person}"
