"""The silent alarm: templates, alarm plans with tiers, alarms with their recipients, timeline and
thread, and the per-receiver inboxes that make delivery at-least-once.

Delivery model: every event for a receiver is first stored as an ``InboxEvent`` with the next
``seq`` of that receiver's ``Inbox`` (assigned under a row lock, so per receiver the numbers are
gap-free and commit in order), then pushed to the receiver's live connections. Receipts move
``Inbox.acked_seq``; a reconnecting client resumes after the last event it processed.
"""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from beistand.accounts.roles import GRANTABLE_ROLES, Role
from beistand.alarms import lifecycle

# Roles a plan may name to give the all-clear of an Amok or building-wide alarm besides the
# security service (which always may).
ALL_CLEAR_ROLES = [(r.value, r.label) for r in Role if r in GRANTABLE_ROLES
                   and r != Role.SECURITY]


class AlarmTemplate(models.Model):
    """What kind of alarm: who gets it, what they are told, how loud (data, admin-editable)."""

    class Audience(models.TextChoices):
        PLAN = "plan", "nach Alarmplan (Stufen mit Eskalation)"
        BUILDING = "building", "ganzes Gebäude und Sicherheitsdienst"
        SITE = "site", "ganzer Standort und Sicherheitsdienst"
        SELF = "self", "nur eigene Geräte (Test)"
        NONE = "none", "keine (beendet einen Alarm)"

    code = models.SlugField("Kennung", max_length=30, unique=True)
    name = models.CharField("Bezeichnung", max_length=80)
    audience = models.CharField("Empfänger", max_length=10, choices=Audience.choices,
                                default=Audience.PLAN)
    escalate = models.BooleanField("eskalieren, wenn niemand antwortet", default=True)
    come = models.BooleanField("Empfänger sollen kommen", default=True,
                               help_text="Aus bei Amok: nicht hingehen, Türen verschließen.")
    test = models.BooleanField("Probealarm", default=False)
    priority = models.PositiveSmallIntegerField("Priorität (1 niedrig – 3 höchste)", default=2)
    sound = models.CharField("Ton", max_length=30, default="alarm")
    instructions = models.TextField("Hinweise für Empfänger")
    triggerable = models.BooleanField("kann ausgelöst werden", default=True)
    active = models.BooleanField("aktiv", default=True)
    order = models.PositiveSmallIntegerField("Reihenfolge", default=0)

    class Meta:
        verbose_name = "Alarmvorlage"
        verbose_name_plural = "Alarmvorlagen"
        ordering = ["order", "name"]

    def __str__(self):
        return self.name


class AlarmPlan(models.Model):
    """Who is alarmed in which order. The most specific plan wins: room, then the sender's unit
    (or the nearest parent unit with a plan), then the site, then the default plan."""

    class Scope(models.TextChoices):
        ROOM = "room", "Raum"
        UNIT = "unit", "Organisationseinheit"
        SITE = "site", "Standort"
        DEFAULT = "default", "Standard (gilt überall ohne eigenen Plan)"

    name = models.CharField("Bezeichnung", max_length=120)
    scope = models.CharField("gilt für", max_length=10, choices=Scope.choices)
    room = models.OneToOneField("organisation.Room", null=True, blank=True,
                                on_delete=models.CASCADE, related_name="alarm_plan",
                                verbose_name="Raum")
    unit = models.OneToOneField("organisation.OrgUnit", null=True, blank=True,
                                on_delete=models.CASCADE, related_name="alarm_plan",
                                verbose_name="Organisationseinheit")
    site = models.OneToOneField("organisation.Site", null=True, blank=True,
                                on_delete=models.CASCADE, related_name="alarm_plan",
                                verbose_name="Standort")
    all_clear_role = models.CharField(
        "Entwarnung bei Amok/Gebäudealarm auch durch", max_length=20, blank=True,
        choices=ALL_CLEAR_ROLES,
        help_text="Leer: nur der Sicherheitsdienst darf einen Amok- oder Gebäudealarm "
                  "beenden.")

    class Meta:
        verbose_name = "Alarmplan"
        verbose_name_plural = "Alarmpläne"
        ordering = ["scope", "name"]
        constraints = [
            models.UniqueConstraint(fields=["scope"], condition=models.Q(scope="default"),
                                    name="one_default_alarm_plan"),
        ]

    def __str__(self):
        return self.name


class AlarmTier(models.Model):
    """One step of a plan. A tier with nobody online is skipped at once."""

    class Kind(models.TextChoices):
        NEIGHBOURS = "neighbours", "Nachbarräume (Umkreis auf der Etage / GPS-Umkreis)"
        FLOOR = "floor", "gleiche Etage"
        BUILDING = "building", "gleiches Gebäude"
        SITE = "site", "gleicher Standort"
        UNIT = "unit", "eigene Organisationseinheit"
        SECURITY = "security", "Sicherheitsdienst"
        PEOPLE = "people", "ausgewählte Personen"
        EXTERNAL = "external", "externe Leitstelle (SMS/E-Mail)"

    plan = models.ForeignKey(AlarmPlan, on_delete=models.CASCADE, related_name="tiers",
                             verbose_name="Alarmplan")
    order = models.PositiveSmallIntegerField("Stufe")
    kind = models.CharField("Empfängerkreis", max_length=12, choices=Kind.choices)
    radius_m = models.PositiveIntegerField("Umkreis (m)", default=15,
                                           help_text="nur für Nachbarräume")
    timeout_s = models.PositiveIntegerField("Wartezeit bis zur nächsten Stufe (s)", default=20)
    acks_needed = models.PositiveSmallIntegerField("nötige Zusagen „Ich komme“", default=1)
    sms_when_offline = models.BooleanField("SMS an Empfänger ohne Verbindung", default=True)
    sms_always = models.BooleanField("SMS an alle Empfänger dieser Stufe", default=False)
    email = models.BooleanField("zusätzlich E-Mail", default=False)
    people = models.ManyToManyField("organisation.Employee", blank=True, related_name="+",
                                    verbose_name="Personen")
    external_phone = models.CharField("Telefon der Leitstelle (SMS)", max_length=40, blank=True)
    external_email = models.EmailField("E-Mail der Leitstelle", blank=True)

    class Meta:
        verbose_name = "Alarmstufe"
        verbose_name_plural = "Alarmstufen"
        ordering = ["plan", "order"]
        constraints = [models.UniqueConstraint(fields=["plan", "order"], name="uniq_tier_order")]

    def __str__(self):
        return f"{self.order}. {self.get_kind_display()}"


def new_epoch() -> str:
    """An inbox's numbering identifier (``hello.epoch``): random, so that a restored database
    (whose epochs ``beistand restore`` renews) or another inbox never shares one."""
    return secrets.token_hex(8)


class Inbox(models.Model):
    """The event stream of one receiver: a person, or a device bound only to a room."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.CASCADE, related_name="alarm_inbox")
    device = models.OneToOneField("accounts.DeviceToken", null=True, blank=True,
                                  on_delete=models.CASCADE, related_name="alarm_inbox")
    last_seq = models.BigIntegerField(default=0)
    # Identifies this numbering of ``seq``: renewed on a restore or an inbox reset, so a
    # client that resumes with another epoch is told to reset (docs/alarm-protocol.md).
    epoch = models.CharField(max_length=32, default=new_epoch)
    acked_seq = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Last known position of this receiver (from a phone/GPS), for distances.
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    accuracy_m = models.FloatField(null=True, blank=True)
    position_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "Alarm-Postfach"
        verbose_name_plural = "Alarm-Postfächer"
        default_permissions = ()

    def __str__(self):
        return f"Postfach {self.pk}"


class InboxEvent(models.Model):
    """One stored event for one receiver; ``seq`` is the protocol's ``event_id``."""

    inbox = models.ForeignKey(Inbox, on_delete=models.CASCADE, related_name="events")
    seq = models.BigIntegerField()
    alarm = models.ForeignKey("Alarm", null=True, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20)
    payload = models.TextField()  # the JSON frame without event_id
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["inbox", "seq"], name="uniq_inbox_seq")]

    def __str__(self):
        return f"{self.inbox_id}#{self.seq} {self.kind}"


class Alarm(models.Model):
    State = lifecycle.State  # the lifecycle table (lifecycle.py) owns states and moves

    class Source(models.TextChoices):
        DESKTOP = "desktop", "Desktop-Client"
        TRAY = "tray", "Taskleisten-Symbol"
        HOTKEY = "hotkey", "Tastenkombination"
        DESKTOP_ICON = "desktop_icon", "Desktop-Symbol"
        BUTTON = "button", "Alarmtaster"
        PHONE = "phone", "Tischtelefon"
        APP = "app", "Handy-App"
        HANDSFREE = "handsfree", "Freisprech-Taster"
        SMS = "sms", "SMS"
        WEB = "web", "Web"
        TEST = "test", "Testbefehl"

    template = models.ForeignKey(AlarmTemplate, on_delete=models.PROTECT, related_name="+",
                                 verbose_name="Vorlage")
    sender = models.ForeignKey("organisation.Employee", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="alarms_sent",
                               verbose_name="Auslösende/r")
    sender_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    device = models.ForeignKey("accounts.DeviceToken", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+", verbose_name="Gerät")
    source = models.CharField("Quelle", max_length=15, choices=Source.choices)
    client_id = models.CharField(max_length=64, blank=True)
    # The client_id while it still deduplicates retries (ALARM_CLIENT_ID_WINDOW_SECONDS);
    # emptied when a later press reuses it, so a fixed trigger URL works for every press.
    client_key = models.CharField(max_length=64, blank=True)
    # The true time of the press as the client reports it (e.g. queued while offline).
    pressed_at = models.DateTimeField("gedrückt", null=True, blank=True)
    # Overrides the template's audience for this alarm ("plan" for a Probealarm to the plan).
    audience = models.CharField(max_length=10, blank=True)
    state = models.CharField("Status", max_length=15, choices=State.choices)
    room = models.ForeignKey("organisation.Room", null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+", verbose_name="Raum")
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    accuracy_m = models.FloatField(null=True, blank=True)
    location_text = models.CharField("Ortsangabe", max_length=200, blank=True)
    # Where a device trigger of a person placed the alarm: the running Zeitalarm visit, the
    # phone's last position (``position_at`` says how old) or the room; "" for other triggers.
    location_basis = models.CharField(max_length=5, blank=True,
                                      choices=[("visit", "Besuch"), ("phone", "Handy-Position"),
                                               ("room", "Raum")])
    position_at = models.DateTimeField(null=True, blank=True)
    plan = models.ForeignKey(AlarmPlan, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    current_tier = models.PositiveSmallIntegerField(default=0)
    next_deadline = models.DateTimeField(null=True, blank=True, db_index=True)
    triggered_at = models.DateTimeField("ausgelöst", default=timezone.now)
    persisted_at = models.DateTimeField("gespeichert", null=True, blank=True)
    countdown_until = models.DateTimeField(null=True, blank=True)
    first_delivered_at = models.DateTimeField("erstmals zugestellt", null=True, blank=True)
    first_ack_at = models.DateTimeField("erste Zusage", null=True, blank=True)
    resolved_at = models.DateTimeField("beendet", null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    resolve_note = models.CharField(max_length=500, blank=True)
    report = models.ForeignKey("reports.Report", null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="alarms")

    class Meta:
        verbose_name = "Alarm"
        verbose_name_plural = "Alarme"
        ordering = ["-triggered_at"]
        constraints = [
            models.UniqueConstraint(fields=["sender_user", "client_key"],
                                    condition=~models.Q(client_key=""),
                                    name="uniq_alarm_client_key"),
        ]
        indexes = [models.Index(fields=["state", "next_deadline"])]

    def __str__(self):
        return f"Alarm {self.pk} ({self.template.name})"

    @property
    def is_open(self) -> bool:
        return self.state in lifecycle.OPEN


class AlarmRecipient(models.Model):
    """A receiver of one alarm, with the tier that reached them and what they did."""

    class Response(models.TextChoices):
        NONE = "", "keine Antwort"
        COMING = "coming", "kommt"
        CANNOT = "cannot", "kann nicht"

    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="recipients")
    inbox = models.ForeignKey(Inbox, on_delete=models.PROTECT, related_name="+")
    label = models.CharField(max_length=200)
    tier = models.PositiveSmallIntegerField(default=0)
    online = models.BooleanField(default=False)
    notified_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    response = models.CharField(max_length=10, choices=Response.choices, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    sms_sent = models.BooleanField(default=False)

    class Meta:
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["alarm", "inbox"],
                                               name="uniq_alarm_recipient")]

    def __str__(self):
        return self.label


class AlarmTimeline(models.Model):
    """Append-only history of one alarm: trigger, deliveries, responses, escalations, messages.
    """

    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=20)
    text = models.CharField(max_length=500)
    actor = models.CharField(max_length=200, blank=True)

    class Meta:
        default_permissions = ()
        ordering = ["at", "id"]

    def __str__(self):
        return self.text

    def save(self, *args, **kwargs):
        # Timeline lines are built from names and notes of bounded but summed lengths
        # ("Entwarnung durch <name>: <note>"); a long name must never fail the step itself.
        self.text = clip(self.text, 500)
        self.actor = clip(self.actor, 200)
        super().save(*args, **kwargs)


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, the cut marked with an ellipsis."""
    text = text or ""
    return text if len(text) <= limit else text[:limit - 1] + "…"


class AlarmMessage(models.Model):
    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT,
                               related_name="+")
    author_label = models.CharField(max_length=200)
    text = models.CharField(max_length=1000)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        default_permissions = ()
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.author_label}: {self.text[:40]}"


class ServerProcess(models.Model):
    """A running server process; its heartbeat says whether its connections still count."""

    id = models.CharField(primary_key=True, max_length=40)
    host = models.CharField(max_length=100)
    pid = models.IntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    beat_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        default_permissions = ()

    def __str__(self):
        return self.id


class Presence(models.Model):
    """How many live connections an inbox has in one server process."""

    process = models.ForeignKey(ServerProcess, on_delete=models.CASCADE, related_name="+")
    inbox = models.ForeignKey(Inbox, on_delete=models.CASCADE, related_name="presence")
    connections = models.PositiveIntegerField(default=0)
    since = models.DateTimeField(default=timezone.now)

    class Meta:
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["process", "inbox"],
                                               name="uniq_presence")]

    def __str__(self):
        return f"{self.inbox_id}@{self.process_id}"


class DeviceTrigger(models.Model):
    """Every call of a device trigger URL, for the rate limit and the operators' log."""

    device = models.ForeignKey("accounts.DeviceToken", on_delete=models.CASCADE,
                               related_name="+")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    alarm = models.ForeignKey(Alarm, null=True, on_delete=models.SET_NULL, related_name="+")
    outcome = models.CharField(max_length=20)

    class Meta:
        default_permissions = ()

    def __str__(self):
        return f"{self.device_id} {self.outcome}"


class SmsMessage(models.Model):
    """An SMS out (alarm fallback) or in (alarm from a phone without data)."""

    class Direction(models.TextChoices):
        OUT = "out", "ausgehend"
        IN = "in", "eingehend"

    class State(models.TextChoices):
        QUEUED = "queued", "wartet"
        SENDING = "sending", "wird gesendet"
        SENT = "sent", "an Gateway übergeben"
        DELIVERED = "delivered", "zugestellt"
        FAILED = "failed", "fehlgeschlagen"
        CANCELLED = "cancelled", "nicht gesendet (Alarm beendet)"
        RECEIVED = "received", "empfangen"
        REJECTED = "rejected", "abgewiesen"

    direction = models.CharField(max_length=3, choices=Direction.choices)
    phone = models.CharField(max_length=40)
    text = models.CharField(max_length=640)
    alarm = models.ForeignKey(Alarm, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="sms")
    state = models.CharField(max_length=10, choices=State.choices)
    gateway_id = models.CharField(max_length=100, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "SMS"
        verbose_name_plural = "SMS"
        ordering = ["-created_at"]
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(fields=["direction", "gateway_id"],
                                    condition=~models.Q(gateway_id=""),
                                    name="uniq_sms_gateway_id"),
        ]

    def __str__(self):
        return f"SMS {self.direction} {self.phone}"


# Web Push lives in its own module; imported here so that Django finds its models.
from beistand.alarms.webpush import PushMessage, PushSubscription  # noqa: E402, F401


class TestReminder(models.Model):
    """When a unit's head was last reminded to run a Probealarm (or the unit first seen): one
    reminder per period."""

    unit = models.OneToOneField("organisation.OrgUnit", on_delete=models.CASCADE,
                                related_name="+")
    sent_at = models.DateTimeField()

    class Meta:
        default_permissions = ()

    def __str__(self):
        return f"{self.unit_id} {self.sent_at:%Y-%m-%d}"


class AnswerLink(models.Model):
    """A one-time answer link in an alarm SMS (``/a/<token>``): bound to one alarm and one
    receiver, valid until the alarm ends or ``expires_at``. Only the token's SHA-256 is stored;
    the token itself (128 bit) exists only in the SMS."""

    token_hash = models.CharField(max_length=64, unique=True)
    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="+")
    recipient = models.ForeignKey(AlarmRecipient, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    # The first answer given through this link (later changes keep it).
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        default_permissions = ()

    def __str__(self):
        return f"Antwort-Link {self.pk} (Alarm {self.alarm_id})"


class AnswerLinkMiss(models.Model):
    """A request for an answer link that does not exist or has expired, per source address:
    the rate limit of ``/a/<token>`` (kept for its window only)."""

    source = models.CharField(max_length=45)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        default_permissions = ()
        indexes = [models.Index(fields=["source", "at"])]

    def __str__(self):
        return f"{self.source} {self.at:%H:%M:%S}"


class VoiceCall(models.Model):
    """A voice call through the SMS gateway's call API (last resort, re-notification): a short
    German text-to-speech message; the receiver answers with a key (DTMF 1 / 2), which the
    gateway posts back signed. Sent through the common outbox like an SMS."""

    class State(models.TextChoices):
        QUEUED = "queued", "wartet"
        SENDING = "sending", "wird übergeben"
        SENT = "sent", "an Gateway übergeben"
        ANSWERED = "answered", "angenommen"
        UNANSWERED = "unanswered", "nicht angenommen"
        FAILED = "failed", "fehlgeschlagen"
        CANCELLED = "cancelled", "nicht angerufen (Alarm beendet)"

    alarm = models.ForeignKey(Alarm, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="calls")
    recipient = models.ForeignKey(AlarmRecipient, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    phone = models.CharField(max_length=40)
    text = models.CharField(max_length=500)
    state = models.CharField(max_length=10, choices=State.choices)
    gateway_id = models.CharField(max_length=100, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    error = models.CharField(max_length=300, blank=True)
    # The key the receiver pressed ("1" / "2"), as the gateway reported it.
    digits = models.CharField(max_length=5, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "Anruf"
        verbose_name_plural = "Anrufe"
        ordering = ["-created_at"]
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(fields=["gateway_id"], condition=~models.Q(gateway_id=""),
                                    name="uniq_call_gateway_id"),
        ]

    def __str__(self):
        return f"Anruf {self.pk} {self.get_state_display()}"
