"""The register of dangerous persons (BSchG NRW "Melde- und Auskunftsregister").

Minimal on purpose: a person and the published incidents about them. No reporter data is ever
stored here; the entry keeps only what protects staff (hazard level, offence categories, date).
"""

from django.conf import settings
from django.db import models


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
    street = models.CharField("Straße", max_length=150, blank=True)
    house_number = models.CharField("Hausnummer", max_length=20, blank=True)
    postal_code = models.CharField("PLZ", max_length=10, blank=True)
    city = models.CharField("Ort", max_length=100, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "gefährdende Person"
        verbose_name_plural = "gefährdende Personen"
        default_permissions = ()

    def __str__(self):
        return f"{self.last_name}, {self.first_names}".strip(", ")


class RegisterEntry(models.Model):
    """One published incident about a person."""

    person = models.ForeignKey(RegisterPerson, on_delete=models.PROTECT, related_name="entries")
    # Link back to the case for the ZKS; queriers never follow it (no reporter data).
    report = models.ForeignKey("reports.Report", on_delete=models.PROTECT,
                               related_name="register_entries")
    hazard_level = models.PositiveSmallIntegerField()
    offences = models.ManyToManyField("reports.Offence", related_name="+")
    incident_date = models.DateField()
    published_at = models.DateTimeField(auto_now_add=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="+")

    class Meta:
        verbose_name = "Registereintrag"
        verbose_name_plural = "Registereinträge"
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["person", "report"],
                                               name="uniq_register_entry_per_report")]

    def __str__(self):
        return f"{self.person} – Stufe {self.hazard_level}"
