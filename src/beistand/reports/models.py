"""Incident reports (Meldungen), their append-only status history, and help offers.

The workflow itself (which action leads where, for whom) lives in ``workflow.py`` as data;
``services.py`` is the only place that changes a report's status.
"""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class Offence(models.Model):
    """Catalogue entry: an offence with its hazard level (Aachener Modell)."""

    code = models.SlugField("Kennung", max_length=40, primary_key=True)
    label = models.CharField("Bezeichnung", max_length=120)
    level = models.PositiveSmallIntegerField(
        "Gefährdungsstufe", validators=[MinValueValidator(0), MaxValueValidator(3)])
    attack = models.BooleanField(
        "verbaler/körperlicher Angriff", default=True,
        help_text="Null Toleranz: Angriffe werden immer zur Anzeige gebracht.")
    active = models.BooleanField("aktiv", default=True)
    sort = models.PositiveSmallIntegerField("Reihenfolge", default=0)

    class Meta:
        verbose_name = "Delikt"
        verbose_name_plural = "Deliktkatalog"
        ordering = ["sort", "level", "label"]

    def __str__(self):
        return f"{self.label} (Stufe {self.level})"


class Status(models.TextChoices):
    DRAFT = "draft", "Entwurf"
    SUBMITTED = "submitted", "eingereicht"
    RETURNED = "returned", "zurückgegeben"
    RELEASED = "released", "freigegeben"
    COMPLAINT_FILED = "complaint_filed", "Anzeige erstattet"
    PUBLISHED = "published", "veröffentlicht"
    CLOSED = "closed", "abgeschlossen"


class Report(models.Model):
    class LocationKind(models.TextChoices):
        OFFICE = "office", "Dienststelle"
        FIELD = "field", "Außendienst"

    status = models.CharField("Status", max_length=20, choices=Status.choices,
                              default=Status.DRAFT, db_index=True)
    reporter = models.ForeignKey("organisation.Employee", on_delete=models.PROTECT,
                                 related_name="reports_made", verbose_name="Meldende/r")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    occurred_at = models.DateTimeField("Zeitpunkt des Vorfalls")
    location_kind = models.CharField("Ort", max_length=10, choices=LocationKind.choices)
    room = models.ForeignKey("organisation.Room", null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+", verbose_name="Raum")
    address = models.CharField("Adresse (Außendienst)", max_length=300, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    offences = models.ManyToManyField(Offence, related_name="reports",
                                      verbose_name="Delikte")
    hazard_level = models.PositiveSmallIntegerField("Gefährdungsstufe", default=0)
    attack = models.BooleanField("Angriff (Null Toleranz)", default=False)
    description = models.TextField("Schilderung")
    victims = models.ManyToManyField("organisation.Employee", related_name="reports_as_victim",
                                     verbose_name="Betroffene")
    injuries = models.TextField("Verletzungen", blank=True)
    incapacity_days = models.PositiveSmallIntegerField(
        "voraussichtliche Tage der Arbeitsunfähigkeit", null=True, blank=True)
    police_on_site = models.BooleanField("Polizei vor Ort", default=False)
    police_on_site_file_number = models.CharField("Aktenzeichen der Polizei vor Ort",
                                                  max_length=60, blank=True)
    house_ban_issued = models.BooleanField("Hausverbot ausgesprochen", default=False)
    # Cologne's rule: knowledge from another authority may not lead to a register entry.
    from_other_authority = models.BooleanField("Kenntnis stammt von anderer Behörde",
                                               default=False)
    # Set by personnel management (file_complaint).
    police_file_number = models.CharField("Aktenzeichen Strafanzeige", max_length=60,
                                          blank=True)
    complaint_date = models.DateField("Strafanzeige/Strafantrag am", null=True, blank=True)
    house_ban_date = models.DateField("Hausverbot am", null=True, blank=True)
    close_reason = models.CharField("Grund des Abschlusses", max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    # Deadline of the current state (None when the state has none, e.g. draft or final).
    due_at = models.DateTimeField("fällig bis", null=True, blank=True, db_index=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "Meldung"
        verbose_name_plural = "Meldungen"
        ordering = ["-created_at"]
        default_permissions = ("view",)

    def __str__(self):
        return self.reference

    @property
    def reference(self) -> str:
        """Human file number, e.g. M-2026-00042 (year of creation, database id)."""
        year = self.created_at.year if self.created_at else 0
        return f"M-{year}-{self.pk or 0:05d}"

    @property
    def complaint_recorded(self) -> bool:
        return bool(self.police_file_number or self.complaint_date or self.house_ban_date)


class Perpetrator(models.Model):
    """A person who attacked or threatened. Field names as in the register import.

    Deliberately no field for health or similar sensitive data (GDPR Art. 9).
    """

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="perpetrators")
    known = models.BooleanField("bekannt", default=True)
    last_name = models.CharField("Name", max_length=100, blank=True)
    first_names = models.CharField("Vornamen", max_length=150, blank=True)
    birth_name = models.CharField("Geburtsname", max_length=100, blank=True)
    aliases = models.JSONField("weitere Namen", default=list, blank=True)
    date_of_birth = models.DateField("Geburtsdatum", null=True, blank=True)
    street = models.CharField("Straße", max_length=150, blank=True)
    house_number = models.CharField("Hausnummer", max_length=20, blank=True)
    postal_code = models.CharField("PLZ", max_length=10, blank=True)
    city = models.CharField("Ort", max_length=100, blank=True)
    description = models.TextField("Beschreibung", blank=True)

    class Meta:
        verbose_name = "Täter/in"
        verbose_name_plural = "Täter/innen"

    def __str__(self):
        if not self.known or not self.last_name:
            return "unbekannt"
        return f"{self.last_name}, {self.first_names}".strip(", ")


class Witness(models.Model):
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="witnesses")
    employee = models.ForeignKey("organisation.Employee", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    name = models.CharField("Name", max_length=200, blank=True)
    contact = models.CharField("Erreichbarkeit", max_length=200, blank=True)

    class Meta:
        verbose_name = "Zeug/in"
        verbose_name_plural = "Zeug/innen"

    def __str__(self):
        return self.name or str(self.employee)


def _attachment_path(instance, filename):
    # Never the uploaded name on disk: it is user input.
    return f"reports/{instance.report_id}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=_attachment_path)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "Anlage"
        verbose_name_plural = "Anlagen"

    def __str__(self):
        return self.original_name


class StatusChangeQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise RuntimeError("Status history is append-only.")

    def delete(self):
        raise RuntimeError("Status history is append-only.")


class StatusChange(models.Model):
    """One workflow step. Append-only: the history of a case is never rewritten."""

    report = models.ForeignKey(Report, on_delete=models.PROTECT, related_name="history")
    action = models.CharField(max_length=30)
    from_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Status.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    comment = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    objects = StatusChangeQuerySet.as_manager()

    class Meta:
        ordering = ["at", "pk"]
        default_permissions = ()

    def __str__(self):
        return f"{self.report_id}: {self.from_status} → {self.to_status}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise RuntimeError("Status history is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("Status history is append-only.")


class HelpOffer(models.Model):
    """Catalogue of help offers (Hilfsangebote), each owned by a responsible unit."""

    code = models.SlugField("Kennung", max_length=40, primary_key=True)
    label = models.CharField("Bezeichnung", max_length=150)
    description = models.TextField("Beschreibung", blank=True)
    # By code (e.g. "11", "I/2", "I/3"): catalogue rows are seeded before the org is imported.
    unit_code = models.CharField("zuständige Einheit (Kennung)", max_length=30)
    active = models.BooleanField("aktiv", default=True)
    sort = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = "Hilfsangebot"
        verbose_name_plural = "Hilfsangebote"
        ordering = ["sort", "label"]

    def __str__(self):
        return self.label


class HelpRequest(models.Model):
    class State(models.TextChoices):
        REQUESTED = "requested", "angefragt"
        IN_PROGRESS = "in_progress", "in Bearbeitung"
        DONE = "done", "erledigt"
        DECLINED = "declined", "nicht gewünscht"

    victim = models.ForeignKey("organisation.Employee", on_delete=models.PROTECT,
                               related_name="help_requests", verbose_name="Betroffene/r")
    report = models.ForeignKey(Report, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="help_requests")
    offer = models.ForeignKey(HelpOffer, on_delete=models.PROTECT, related_name="requests")
    state = models.CharField(max_length=20, choices=State.choices, default=State.REQUESTED)
    owner = models.ForeignKey("organisation.Employee", null=True, blank=True,
                              on_delete=models.PROTECT, related_name="help_owned",
                              verbose_name="bearbeitet von")
    note = models.TextField("Notiz", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "Hilfeanfrage"
        verbose_name_plural = "Hilfeanfragen"
        ordering = ["-created_at"]
        default_permissions = ()

    def __str__(self):
        return f"{self.offer} für {self.victim}"
