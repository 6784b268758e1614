"""Role grants, API tokens for people, and device tokens for workstations, phones and hubs.

Tokens are stored only as SHA-256 hashes; the clear token is shown once at creation.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from beistand.accounts.roles import Role


class RoleGrantQuerySet(models.QuerySet):
    def active(self, at=None):
        at = at or timezone.now()
        return self.filter(revoked_at__isnull=True, pending=False).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=at))

    def pending_confirmation(self, at=None):
        at = at or timezone.now()
        return self.filter(revoked_at__isnull=True, pending=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=at))


class RoleGrant(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="role_grants", verbose_name="Benutzer/in")
    role = models.CharField("Rolle", max_length=20, choices=Role.choices)
    reason = models.CharField("Begründung / dienstlicher Bedarf", max_length=500)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name="erteilt von")
    granted_at = models.DateTimeField("erteilt am", default=timezone.now)
    expires_at = models.DateTimeField("gültig bis", null=True, blank=True)
    revoked_at = models.DateTimeField("entzogen am", null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+",
                                   verbose_name="entzogen von")
    revoke_reason = models.CharField("Grund des Entzugs", max_length=500, blank=True)
    # Four-eyes: a grant of the DPO or admin role waits for a second person (another admin or
    # the DPO) before it counts; until then it is pending and grants nothing.
    pending = models.BooleanField("wartet auf Bestätigung", default=False)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+",
                                     verbose_name="bestätigt von")
    confirmed_at = models.DateTimeField("bestätigt am", null=True, blank=True)

    objects = RoleGrantQuerySet.as_manager()

    class Meta:
        verbose_name = "Rollenzuweisung"
        verbose_name_plural = "Rollenzuweisungen"
        ordering = ["-granted_at"]
        default_permissions = ("view",)

    def __str__(self):
        return f"{self.user} – {self.get_role_display()}"

    def is_active(self, at=None) -> bool:
        at = at or timezone.now()
        return (self.revoked_at is None and not self.pending
                and (self.expires_at is None or self.expires_at > at))


class TokenQuerySet(models.QuerySet):
    def usable(self, at=None):
        at = at or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=at))


class ApiToken(models.Model):
    """A bearer token of a person (desktop client, phone app, integration)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="api_tokens")
    name = models.CharField("Bezeichnung", max_length=100, blank=True)
    prefix = models.CharField(max_length=12, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Set when the token was issued after a verified second factor.
    otp_verified = models.BooleanField(default=False)

    objects = TokenQuerySet.as_manager()

    class Meta:
        verbose_name = "API-Token"
        verbose_name_plural = "API-Tokens"
        ordering = ["-created_at"]
        default_permissions = ()

    def __str__(self):
        return f"{self.prefix}… ({self.user})"


class DeviceToken(models.Model):
    """A token of a device: a workstation, a desk phone, a button hub. Created by an admin."""

    class Kind(models.TextChoices):
        WORKSTATION = "workstation", "Arbeitsplatz-PC"
        DESK_PHONE = "desk_phone", "Tischtelefon"
        BUTTON_HUB = "button_hub", "Alarmtaster-Hub"
        MOBILE = "mobile", "Diensthandy"

    name = models.CharField("Bezeichnung", max_length=100)
    kind = models.CharField("Art", max_length=20, choices=Kind.choices)
    room = models.ForeignKey("organisation.Room", null=True, blank=True,
                             on_delete=models.PROTECT, related_name="devices",
                             verbose_name="Raum")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.PROTECT, related_name="devices",
                             verbose_name="gebunden an Benutzer/in")
    # The alarm templates this device's trigger URL may raise (codes, comma-separated); empty:
    # only the default template "beistand". A Probealarm (test template) is always allowed.
    alarm_templates = models.CharField(
        "auslösbare Alarmvorlagen", max_length=200, blank=True,
        help_text="Kennungen, durch Komma getrennt (z. B. „beistand,medizin“); leer: nur "
                  "„beistand“. Ein Probealarm ist immer möglich.")
    prefix = models.CharField(max_length=12, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "Geräte-Token"
        verbose_name_plural = "Geräte-Tokens"
        ordering = ["name"]
        default_permissions = ("view",)

    def __str__(self):
        return f"{self.name} ({self.get_kind_display()})"


class LoginFailure(models.Model):
    """A failed password check, kept for the lockout window only (``accounts.lockout``): who was
    tried, from where, and a keyed hash of the password tried (to see one password sprayed over
    many accounts). Not personal data beyond the audit's own login-failure events; rows older
    than the window are deleted."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    source = models.CharField(max_length=45, blank=True, db_index=True)
    username = models.CharField(max_length=150, db_index=True)
    password_key = models.CharField(max_length=32, db_index=True)

    class Meta:
        default_permissions = ()

    def __str__(self):
        return f"{self.username} @ {self.source} ({self.at:%Y-%m-%d %H:%M})"


class EnrolmentCode(models.Model):
    """A one-time code with which a workstation client pairs itself instead of a login
    (``accounts.enrolment``): an administrator creates it for one seat (device name, room
    and/or person); the first client that presents it before ``expires_at`` gets a device token
    for that seat, and the code is used up. Only a hash of the code is stored."""

    name = models.CharField("Bezeichnung des Geräts", max_length=100)
    kind = models.CharField("Art", max_length=20, choices=DeviceToken.Kind.choices,
                            default=DeviceToken.Kind.WORKSTATION)
    room = models.ForeignKey("organisation.Room", null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+", verbose_name="Raum")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+",
                             verbose_name="gebunden an Benutzer/in")
    alarm_templates = models.CharField("auslösbare Alarmvorlagen", max_length=200, blank=True)
    prefix = models.CharField(max_length=4)
    code_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField("gültig bis")
    used_at = models.DateTimeField("verwendet", null=True, blank=True)
    device = models.ForeignKey(DeviceToken, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+", verbose_name="ausgegebenes Geräte-Token")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "Einmalcode zur Gerätekopplung"
        verbose_name_plural = "Einmalcodes zur Gerätekopplung"
        ordering = ["-created_at", "name"]
        default_permissions = ()

    def __str__(self):
        return f"{self.prefix}… {self.name}"
