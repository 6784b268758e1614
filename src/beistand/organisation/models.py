"""The organisation of the one public body an installation serves.

Units form a tree (Dezernat -> Amt -> Abteilung/Sachgebiet); places form a hierarchy
site -> building -> floor -> room. Employees belong to a unit and usually sit in a room, which is
what the silent alarm uses to find the nearest colleagues.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models


class Body(models.Model):
    """The public body itself (singleton, pk=1): name and address for letters."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    name = models.CharField("Name", max_length=200)
    street = models.CharField("Straße und Hausnummer", max_length=200, blank=True)
    postal_code = models.CharField("PLZ", max_length=10, blank=True)
    city = models.CharField("Ort", max_length=100, blank=True)
    logo = models.FileField("Logo für Briefe", upload_to="body/", blank=True)

    class Meta:
        verbose_name = "Behörde"
        verbose_name_plural = "Behörde"

    def __str__(self):
        return self.name


class OrgUnit(models.Model):
    class Kind(models.TextChoices):
        DEZERNAT = "dezernat", "Dezernat"
        AMT = "amt", "Amt"
        ABTEILUNG = "abteilung", "Abteilung"
        SACHGEBIET = "sachgebiet", "Sachgebiet"
        STABSSTELLE = "stabsstelle", "Stabsstelle"

    code = models.CharField("Kennung", max_length=30, unique=True,
                            help_text="z. B. „11“ oder „I/3“, wie im Organigramm")
    name = models.CharField("Bezeichnung", max_length=200)
    kind = models.CharField("Art", max_length=20, choices=Kind.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="children", verbose_name="übergeordnete Einheit")
    head = models.ForeignKey("Employee", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="headed_units", verbose_name="Leitung")

    class Meta:
        verbose_name = "Organisationseinheit"
        verbose_name_plural = "Organisationseinheiten"
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.name}"

    def clean(self):
        node, seen = self.parent, {self.pk}
        while node is not None:
            if node.pk in seen:
                raise ValidationError(
                    {"parent": "Die Einheit darf nicht unter sich selbst hängen."})
            seen.add(node.pk)
            node = node.parent

    def ancestors(self) -> list["OrgUnit"]:
        """Parents from the nearest up to the root."""
        chain, node, seen = [], self.parent, {self.pk}
        while node is not None and node.pk not in seen:
            chain.append(node)
            seen.add(node.pk)
            node = node.parent
        return chain


class Site(models.Model):
    name = models.CharField("Name", max_length=200, unique=True)
    street = models.CharField("Straße und Hausnummer", max_length=200)
    postal_code = models.CharField("PLZ", max_length=10)
    city = models.CharField("Ort", max_length=100)
    latitude = models.DecimalField("Breite", max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField("Länge", max_digits=9, decimal_places=6, null=True, blank=True)

    class Meta:
        verbose_name = "Standort"
        verbose_name_plural = "Standorte"
        ordering = ["name"]

    def __str__(self):
        return self.name


class Building(models.Model):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="buildings",
                             verbose_name="Standort")
    name = models.CharField("Name", max_length=100)
    latitude = models.DecimalField("Breite", max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField("Länge", max_digits=9, decimal_places=6, null=True, blank=True)

    class Meta:
        verbose_name = "Gebäude"
        verbose_name_plural = "Gebäude"
        ordering = ["site__name", "name"]
        constraints = [models.UniqueConstraint(fields=["site", "name"], name="uniq_building")]

    def __str__(self):
        return f"{self.site.name}, {self.name}"


class Floor(models.Model):
    building = models.ForeignKey(Building, on_delete=models.PROTECT, related_name="floors",
                                 verbose_name="Gebäude")
    level = models.SmallIntegerField("Ebene", help_text="0 = Erdgeschoss, -1 = Untergeschoss")
    name = models.CharField("Bezeichnung", max_length=50, blank=True)

    class Meta:
        verbose_name = "Etage"
        verbose_name_plural = "Etagen"
        ordering = ["building__site__name", "building__name", "level"]
        constraints = [models.UniqueConstraint(fields=["building", "level"], name="uniq_floor")]

    def __str__(self):
        label = self.name or ("Erdgeschoss" if self.level == 0 else f"{self.level}. Etage")
        return f"{self.building}, {label}"


class Room(models.Model):
    floor = models.ForeignKey(Floor, on_delete=models.PROTECT, related_name="rooms",
                              verbose_name="Etage")
    number = models.CharField("Raumnummer", max_length=30)
    name = models.CharField("Bezeichnung", max_length=100, blank=True)
    # Position on the floor in metres, for "nearest colleagues first" in the alarm plan.
    x = models.FloatField("x (m)", null=True, blank=True)
    y = models.FloatField("y (m)", null=True, blank=True)

    class Meta:
        verbose_name = "Raum"
        verbose_name_plural = "Räume"
        ordering = ["floor__building__site__name", "floor__building__name", "floor__level",
                    "number"]
        constraints = [models.UniqueConstraint(fields=["floor", "number"], name="uniq_room")]

    def __str__(self):
        return f"{self.floor.building}, Raum {self.number}"


class Employee(models.Model):
    """A member of staff. Linked to a login account when the person uses beistand."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="employee",
                                verbose_name="Benutzerkonto")
    personnel_number = models.CharField("Personalnummer", max_length=30, unique=True)
    last_name = models.CharField("Name", max_length=100)
    first_name = models.CharField("Vorname", max_length=100)
    email = models.EmailField("E-Mail", blank=True)
    service_phone = models.CharField("Diensttelefon", max_length=40, blank=True)
    mobile_phone = models.CharField("Diensthandy", max_length=40, blank=True)
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="members",
                             verbose_name="Organisationseinheit")
    supervisor = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="direct_reports",
        verbose_name="direkte/r Vorgesetzte/r",
        help_text="Leer lassen: dann gilt die Leitung der eigenen Einheit (bzw. der darüber).",
    )
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="employees", verbose_name="Raum/Arbeitsplatz")
    workstation = models.CharField("Arbeitsplatz-Kennung", max_length=60, blank=True)
    field_service = models.BooleanField("Außendienst", default=False)
    active = models.BooleanField("aktiv", default=True)

    class Meta:
        verbose_name = "Beschäftigte/r"
        verbose_name_plural = "Beschäftigte"
        ordering = ["last_name", "first_name"]

    def __str__(self):
        return f"{self.last_name}, {self.first_name}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"
