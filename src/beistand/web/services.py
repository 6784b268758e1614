"""What the web UI shows: the role-dependent start page ("what needs my attention").

Views stay thin: they call ``start_page_for(user)`` and render the result. Every number shown
here comes from the database.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django_otp import user_has_device

from beistand.accounts.models import DeviceToken, RoleGrant
from beistand.accounts.roles import PRIVILEGED_ROLES, Role
from beistand.accounts.services import (
    logged_in_via_trusted_idp,
    require_role,
    requires_second_factor,
    roles_of,
)
from beistand.audit import services as audit
from beistand.audit.models import AuditEvent, AuditHead
from beistand.organisation import services as org
from beistand.organisation.models import Body, Employee, OrgUnit

# A grant that ends within this window is shown as a warning.
EXPIRY_WARNING = timedelta(days=14)
# A device that has not reported for this long is shown to the administrator.
DEVICE_SILENCE = timedelta(hours=24)
# The audit event that stores the result of a verification started from the UI.
AUDIT_VERIFIED = "audit.verified"
_URGENCY = {"danger": 0, "warning": 1, "info": 2}
# Names on a card are capped; the count says how many there are in total.
MAX_NAMES = 8


@dataclass
class Link:
    label: str
    url: str


@dataclass
class Attention:
    """One thing the user should act on, shown at the top of the start page."""

    tone: str  # "warning" | "danger" | "info"
    text: str
    link: Link | None = None


@dataclass
class Card:
    key: str
    title: str
    tone: str = ""  # "" | "success" | "warning" | "danger"
    status: str = ""  # short badge text next to the title
    text: list[str] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    template: str = ""  # an extra include for interactive parts (e.g. the audit check button)
    extra: object = None  # data for that include


@dataclass
class StartPage:
    greeting: str
    subline: str
    roles: list[str]
    attention: list[Attention]
    cards: list[Card]


def body_name() -> str:
    """The name of the body this installation serves ("" before it is set up)."""
    return Body.objects.filter(pk=1).values_list("name", flat=True).first() or ""


def display_name(user) -> str:
    employee = org.employee_of(user)
    if employee is not None:
        return employee.full_name
    return user.get_full_name() or user.get_username()


def _date(value) -> str:
    return timezone.localtime(value).strftime("%d.%m.%Y")


def _datetime(value) -> str:
    return timezone.localtime(value).strftime("%d.%m.%Y, %H:%M Uhr")


def _links(*pairs) -> list[Link]:
    return [Link(label, url) for label, url in pairs]


def _n(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def _dash(value) -> str:
    return value or "nicht hinterlegt"


# --- The start page ---------------------------------------------------------------------------

def start_page_for(user, request=None) -> StartPage:
    """Everything the start page shows ``user``, according to the roles they hold now.

    ``request`` tells whether this session came through a trusted identity provider (whose own
    second factor then counts).
    """
    now = timezone.now()
    roles = roles_of(user)
    employee = org.employee_of(user)
    attention: list[Attention] = []
    # Role work first (what needs attention), then the user's own data, which every role has.
    cards: list[Card] = []

    cards.append(_alarm_card(user, employee, attention))
    if employee is not None:
        cards.append(_report_card(user, employee, attention))
    if roles & {Role.SUPERVISOR, Role.PERSONNEL, Role.ZKS}:
        cards.append(_queue_card(user, roles, now, attention))
    if Role.SUPERVISOR in roles and employee is not None:
        cards.append(_team_card(employee))
    if Role.QUERIER in roles:
        cards.append(_querier_card(user, now))
    if Role.ADMIN in roles:
        cards.append(_admin_card(now, attention))
    if Role.ZKS in roles:
        cards.append(_register_card(today=timezone.localdate(now), attention=attention))
    if Role.DPO in roles:
        cards.append(_misuse_card(user, now))
        cards.append(_audit_card(attention))
        cards.append(_grants_card(now, roles))
    if Role.STATISTICS in roles:
        cards.append(_statistics_card())
    if roles & {Role.SECURITY, Role.ZKS, Role.ADMIN}:
        cards.append(_alarm_log_card(now))
    for role, card in _UPCOMING.items():
        if role in roles:
            cards.append(Card(key=role.value, title=card[0], text=list(card[1:])))
    cards.append(_contact_card(user, employee, attention))
    cards.append(_security_card(user, roles, attention, request))
    attention.extend(_own_expiring_grants(user, now))
    attention.sort(key=lambda item: _URGENCY.get(item.tone, 9))

    if employee is not None:
        greeting = f"Guten Tag, {employee.full_name}"
        place = [str(employee.unit)]
        if employee.room_id:
            place.append(f"Raum {employee.room.number}")
        subline = " · ".join(place)
    else:
        greeting = f"Guten Tag, {display_name(user)}"
        subline = "Technisches Konto ohne Beschäftigtendatensatz"
    role_names = [Role(r).label for r in Role if r in roles]
    return StartPage(greeting=greeting, subline=subline, roles=role_names,
                     attention=attention, cards=cards)


def _contact_card(user, employee: Employee | None, attention: list[Attention]) -> Card:
    if employee is None:
        return Card(
            key="contact", title="Ihre Kontaktdaten", tone="warning", status="fehlen",
            text=["Ihrem Konto ist kein Beschäftigtendatensatz zugeordnet. Für den stillen "
                  "Alarm und für Meldungen braucht beistand Ihre Organisationseinheit, Ihren "
                  "Raum und Ihre Telefonnummern. Bitte wenden Sie sich an die Administration."])
    supervisor = org.direct_supervisor(employee)
    room = str(employee.room) if employee.room_id else ""
    missing = []
    if not employee.room_id and not employee.field_service:
        missing.append("Raum")
    if not (employee.service_phone or employee.mobile_phone):
        missing.append("Telefonnummer")
    if missing:
        attention.append(Attention(
            "warning",
            f"In Ihren Kontaktdaten fehlt: {', '.join(missing)}. Im Alarmfall findet Hilfe Sie "
            "dann nicht so schnell. Bitte melden Sie die Angaben der Administration."))
    facts = [
        ("Name", employee.full_name),
        ("Organisationseinheit", str(employee.unit)),
        ("Raum", _dash(room)),
        ("Diensttelefon", _dash(employee.service_phone)),
        ("Diensthandy", _dash(employee.mobile_phone)),
        ("E-Mail", _dash(employee.email)),
        ("Vorgesetzte/r", supervisor.full_name if supervisor else "nicht hinterlegt"),
    ]
    if employee.field_service:
        facts.append(("Außendienst", "ja"))
    return Card(
        key="contact", title="Stimmen Ihre Kontaktdaten?",
        tone="warning" if missing else "", status="unvollständig" if missing else "",
        text=["Beim stillen Alarm sehen die alarmierten Kolleginnen und Kollegen Ihren Namen, "
              "Ihren Raum und Ihre Telefonnummer. Bitte prüfen Sie die Angaben und melden Sie "
              "Fehler der Administration."],
        facts=facts)


def _security_card(user, roles, attention: list[Attention], request=None) -> Card:
    has_totp = user_has_device(user, confirmed=True)
    privileged = bool(roles & PRIVILEGED_ROLES)
    mandatory = requires_second_factor(user, request)
    if has_totp:
        status, tone = "eingerichtet", "success"
        text = "Ihre Anmeldung ist mit einem zweiten Faktor (Authenticator-App) geschützt."
    elif request is not None and logged_in_via_trusted_idp(request):
        status, tone = "über das Dienstkonto", "success"
        text = ("Sie haben sich über den Anmeldedienst Ihrer Verwaltung angemeldet; dessen "
                "zweiter Faktor gilt auch hier.")
    elif mandatory:
        status, tone = "fehlt", "danger"
        text = ("Für Ihre Rollen ist die Zwei-Faktor-Anmeldung Pflicht. Bitte richten Sie sie "
                "unter „Sicherheit & Konto“ ein.")
        attention.append(Attention("danger", "Bitte richten Sie die Zwei-Faktor-Anmeldung ein: "
                                   "für Ihre Rollen ist sie Pflicht.",
                                   _first_link(("Sicherheit & Konto",
                                                reverse("accounts:security")))))
    elif privileged:
        # Only reachable in demo mode, where the second factor is waived.
        status, tone = "nicht eingerichtet", "warning"
        text = ("Im Demo-Betrieb ist die Zwei-Faktor-Anmeldung ausgesetzt. Im echten Betrieb ist "
                "sie für Ihre Rollen Pflicht.")
    else:
        status, tone = "nicht eingerichtet", ""
        text = ("Für Ihre Rollen ist ein zweiter Faktor nicht vorgeschrieben. Sie können ihn "
                "trotzdem einrichten.")
    role_names = ", ".join(Role(r).label for r in Role if r in roles) or "keine"
    return Card(
        key="security", title="Anmeldung und Rollen", tone=tone, status=status,
        text=[text],
        facts=[("Benutzername", user.get_username()),
               ("Zwei-Faktor-Anmeldung", status),
               ("Ihre Rollen", role_names)],
        links=_links(("Sicherheit & Konto", reverse("accounts:security"))))


def _first_link(*pairs) -> Link:
    return _links(*pairs)[0]


def _own_expiring_grants(user, now) -> list[Attention]:
    soon = (RoleGrant.objects.active(now).filter(user=user, expires_at__lte=now + EXPIRY_WARNING)
            .order_by("expires_at"))
    result = []
    for grant in soon:
        days = max(0, (grant.expires_at - now).days)
        result.append(Attention(
            "warning",
            f"Ihre Rolle „{grant.get_role_display()}“ endet am {_date(grant.expires_at)} "
            f"({'heute' if days == 0 else f'in {days} Tagen' if days > 1 else 'morgen'}). "
            "Besteht der dienstliche Bedarf fort, beantragen Sie rechtzeitig eine Verlängerung "
            "bei der Administration."))
    return result


def _team_card(employee: Employee) -> Card:
    reports = org.direct_reports(employee)
    names = [f"{e.full_name} ({e.unit.code})" for e in reports[:MAX_NAMES]]
    if len(reports) > MAX_NAMES:
        names.append(f"und {len(reports) - MAX_NAMES} weitere")
    count = len(reports)
    return Card(
        key="team", title="Ihr Team",
        status=f"{count} {'Person' if count == 1 else 'Personen'}",
        text=[f"{count} {'Beschäftigte/r berichtet' if count == 1 else 'Beschäftigte berichten'}"
              " direkt an Sie. Als direkte/r Vorgesetzte/r prüfen Sie deren Meldungen über "
              "Vorfälle und geben sie frei (Arbeitsliste)."],
        items=names)


def _querier_card(user, now) -> Card:
    grant = (RoleGrant.objects.active(now).filter(user=user, role=Role.QUERIER)
             .order_by("-expires_at").first())
    until = grant.expires_at if grant else None
    warn = until is not None and until - now <= EXPIRY_WARNING
    facts = [("Gültig bis", _date(until) if until else "unbefristet")]
    if grant is not None:
        facts.append(("Dienstlicher Bedarf", grant.reason))
    text = ["Sie dürfen das Register im Einzelfall abfragen, um sich vor einem Kontakt mit einer "
            "Person zu schützen – z. B. vor einem Hausbesuch. Jede Abfrage wird mit Zweck "
            "protokolliert."]
    if warn:
        text.append("Ihre Berechtigung läuft bald ab. Besteht der Bedarf fort, beantragen Sie "
                    "rechtzeitig eine Verlängerung bei der Administration.")
    return Card(key="querier", title="Ihre Abfrageberechtigung",
                tone="warning" if warn else "",
                status="läuft bald ab" if warn else "aktiv",
                text=text, facts=facts, template="register/start_querier_card.html",
                extra={"lookup_url": reverse("register:lookup")})


def admin_overview(now=None) -> dict:
    """Counts of what an administrator should look after."""
    now = now or timezone.now()
    from django_otp.plugins.otp_totp.models import TOTPDevice

    privileged_users = (RoleGrant.objects.active(now).filter(role__in=PRIVILEGED_ROLES)
                        .values_list("user_id", flat=True).distinct())
    with_totp = TOTPDevice.objects.filter(confirmed=True).values_list("user_id", flat=True)
    silent = DeviceToken.objects.filter(revoked_at__isnull=True).filter(
        Q(last_seen_at__lt=now - DEVICE_SILENCE)
        | Q(last_seen_at__isnull=True, created_at__lt=now - DEVICE_SILENCE))
    return {
        "employees_without_room": Employee.objects.filter(
            active=True, room__isnull=True, field_service=False).count(),
        "units_without_head": list(OrgUnit.objects.filter(head__isnull=True)
                                   .values_list("code", flat=True)),
        "grants_expiring": RoleGrant.objects.active(now).filter(
            expires_at__lte=now + EXPIRY_WARNING).count(),
        "privileged_without_totp": len(set(privileged_users) - set(with_totp)),
        "silent_devices": silent.count(),
        "active_devices": DeviceToken.objects.filter(revoked_at__isnull=True).count(),
    }


def _admin_card(now, attention: list[Attention]) -> Card:
    o = admin_overview(now)
    units = o["units_without_head"]
    roles_url = reverse("accounts:grants")
    devices_url = reverse("accounts:devices")
    if o["silent_devices"]:
        attention.append(Attention(
            "warning",
            _n(o["silent_devices"], "Gerät hat", "Geräte haben")
            + " sich seit über 24 Stunden nicht gemeldet. Ein stiller Alarm von dort käme "
            "womöglich nicht an.",
            _first_link(("Geräte prüfen", devices_url))))
    if o["privileged_without_totp"]:
        attention.append(Attention(
            "warning",
            _n(o["privileged_without_totp"], "Konto", "Konten")
            + " mit Pflicht zur Zwei-Faktor-Anmeldung "
            + ("hat" if o["privileged_without_totp"] == 1 else "haben")
            + " sie noch nicht eingerichtet.",
            _first_link(("Rollen ansehen", roles_url))))
    needs_work = any(o[k] for k in ("employees_without_room", "grants_expiring",
                                    "silent_devices", "privileged_without_totp")) or units
    facts = [
        ("Beschäftigte ohne Raum", str(o["employees_without_room"])),
        ("Einheiten ohne Leitung", str(len(units))),
        ("Rollen, die in 14 Tagen enden", str(o["grants_expiring"])),
        ("Pflicht-2FA nicht eingerichtet", str(o["privileged_without_totp"])),
        ("Geräte ohne Meldung seit 24 h", f"{o['silent_devices']} von {o['active_devices']}"),
    ]
    items = []
    if units:
        shown = ", ".join(units[:MAX_NAMES]) + (" …" if len(units) > MAX_NAMES else "")
        items.append(f"Ohne Leitung: {shown}")
    return Card(
        key="admin", title="Verwaltung", tone="warning" if needs_work else "success",
        status="zu prüfen" if needs_work else "alles in Ordnung",
        text=["Ohne Raum findet der stille Alarm die nächsten Kolleginnen und Kollegen nicht; "
              "ohne Leitung fehlt einer Einheit die Freigabe von Meldungen."],
        facts=facts, items=items,
        links=_links(("Rollen verwalten", roles_url), ("Geräte verwalten", devices_url),
                     ("Stammdaten", reverse("admin:index"))))


# --- Register: ZKS review tasks and rights requests, DPO misuse signals ---------------------

def _register_card(today, attention: list[Attention]) -> Card:
    from beistand.register import rights, zks
    from beistand.register.models import RightsRequest

    reviews = zks.review_due(today).count()
    open_requests = RightsRequest.objects.filter(
        state__in=(RightsRequest.State.OPEN, RightsRequest.State.DEFERRED)).order_by("due_on")
    overdue = rights.due_rights_requests().count()
    url = reverse("register:manage")
    if overdue:
        attention.append(Attention(
            "danger", _n(overdue, "Antrag einer betroffenen Person ist", "Anträge betroffener "
                         "Personen sind") + " fällig (Frist nach Art. 12 Abs. 3 DSGVO).",
            _first_link(("Register verwalten", url))))
    items = [f"{r.get_kind_display()}: Frist {r.due_on:%d.%m.%Y}"
             + (f" (zurückgestellt bis {r.defer_until:%d.%m.%Y})" if r.defer_until else "")
             for r in open_requests[:MAX_NAMES]]
    total = open_requests.count()
    if total > MAX_NAMES:
        items.append(f"und {total - MAX_NAMES} weitere")
    busy = reviews or total
    return Card(
        key="register", title="Register",
        tone="danger" if overdue else ("warning" if busy else "success"),
        status=f"{overdue} fällig" if overdue else ("zu bearbeiten" if busy else "nichts offen"),
        text=["Prüfaufgaben (weiter speichern oder löschen) und Anträge betroffener Personen "
              "mit ihrer Monatsfrist."],
        facts=[("Fällige Prüfungen", str(reviews)), ("Offene Anträge", str(total))],
        items=items, links=_links(("Register verwalten", url)))


def _misuse_card(user, now) -> Card:
    from beistand.register import access_log

    signals = access_log.misuse_signals(user, timezone.localdate(now))
    url = reverse("register:access_log")
    return Card(
        key="access_log", title="Zugriffe auf das Register",
        tone="warning" if signals else "success",
        status=_n(len(signals), "Auffälligkeit", "Auffälligkeiten") if signals
        else "unauffällig",
        text=["Jede Abfrage im Register steht im Zugriffsprotokoll. Auffällig sind viele "
              "Abfragen einer Person, dieselbe Person von vielen Stellen und Abfragen außerhalb "
              "der Dienstzeit."],
        items=[s.title for s in signals[:MAX_NAMES]],
        links=_links(("Zugriffsprotokoll öffnen", url)))


# --- Data protection officer: audit trail ----------------------------------------------------

@dataclass
class AuditStatus:
    entries: int
    last_check_at: str = ""
    last_check_by: str = ""
    ok: bool | None = None  # None: never checked from the UI
    checked: int = 0
    reason: str = ""
    bad_seq: int | None = None


def audit_status() -> AuditStatus:
    """The size of the audit trail and the result of the newest verification started in the UI."""
    head = AuditHead.objects.filter(pk=1).first()
    status = AuditStatus(entries=head.last_seq if head else 0)
    last = AuditEvent.objects.filter(action=AUDIT_VERIFIED).order_by("-seq").first()
    if last is not None and isinstance(last.after, dict):
        status.last_check_at = _datetime(last.at)
        status.last_check_by = last.actor_label
        status.ok = bool(last.after.get("ok"))
        status.checked = int(last.after.get("checked") or 0)
        status.reason = str(last.after.get("reason") or "")
        status.bad_seq = last.after.get("bad_seq")
    return status


def verify_audit_trail(user) -> AuditStatus:
    """Check the whole chain for the DPO and record the result in the trail itself.

    The check runs outside a transaction (it can take a while on a large trail and must not hold
    the write lock); only the short append of its result is transactional.
    """
    require_role(user, Role.DPO)
    result = audit.verify_chain()
    with transaction.atomic():
        audit.record(AUDIT_VERIFIED, object_type="audit.chain", object_id="1",
                     object_repr="Prüfprotokoll", actor=user,
                     after={"ok": result.ok, "checked": result.checked,
                            "bad_seq": result.bad_seq, "reason": result.reason})
    return audit_status()


def _audit_card(attention: list[Attention]) -> Card:
    status = audit_status()
    if status.ok is False:
        attention.append(Attention(
            "danger", f"Die letzte Prüfung des Prüfprotokolls ist fehlgeschlagen: "
            f"{status.reason} (Eintrag #{status.bad_seq})."))
    return Card(
        key="audit", title="Prüfprotokoll",
        tone={True: "success", False: "danger", None: ""}[status.ok],
        status={True: "Kette intakt", False: "Kette beschädigt", None: "noch nicht geprüft"}[
            status.ok],
        text=["Jede Änderung und jeder Lesezugriff auf personenbezogene Daten wird im "
              "Prüfprotokoll festgehalten; jeder Eintrag ist mit dem vorigen per SHA-256 "
              "verkettet. Die Prüfung rechnet die ganze Kette nach und wird selbst "
              "protokolliert."],
        template="web/includes/audit_status.html", extra=status)


def _grants_card(now, roles) -> Card:
    active = RoleGrant.objects.active(now)
    counts = dict(active.values_list("role").annotate(n=Count("id")).values_list("role", "n"))
    expiring = active.filter(expires_at__lte=now + EXPIRY_WARNING).count()
    return Card(
        key="grants", title="Vergebene Rollen",
        text=["Wer welche Rolle hat, entscheidet die Administration mit Begründung; jede "
              "Vergabe und jeder Entzug steht im Prüfprotokoll."],
        facts=[("Aktive Zuweisungen", str(sum(counts.values()))),
               ("davon enden in 14 Tagen", str(expiring))],
        items=[f"{Role(r).label}: {counts[r.value]}" for r in Role if r.value in counts],
        # The grants page belongs to the administrators; the DPO sees the numbers here.
        links=_links(("Rollenzuweisungen ansehen", reverse("accounts:grants")))
        if Role.ADMIN in roles else [])


# --- Reports: the report button and the work queues -----------------------------------------

def _report_card(user, employee: Employee, attention: list[Attention]) -> Card:
    from beistand.reports import services as reports
    from beistand.reports.models import Status

    mine = reports.visible_reports(user).filter(reporter=employee)
    counts = dict(mine.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    open_count = sum(n for status, n in counts.items()
                     if status not in (Status.PUBLISHED, Status.CLOSED))
    returned = counts.get(Status.RETURNED, 0)
    drafts = counts.get(Status.DRAFT, 0)
    mine_url = reverse("reports:mine")
    if returned:
        attention.append(Attention(
            "warning", _n(returned, "Ihrer Meldungen wurde", "Ihrer Meldungen wurden")
            + " zur Überarbeitung zurückgegeben.", _first_link(("Meine Meldungen", mine_url))))
    facts = [("Offene Meldungen", str(open_count)), ("Entwürfe", str(drafts))]
    return Card(
        key="report", title="Vorfall melden",
        text=["Wurden Sie beleidigt, bedroht oder angegriffen? Melden Sie es – in wenigen "
              "Minuten, auch vom Diensthandy. Jeder Angriff wird angezeigt; Sie sehen, was "
              "aus Ihrer Meldung wird."],
        facts=facts, template="reports/start_report_card.html",
        extra={"new_url": reverse("reports:new")},
        links=_links(("Meine Meldungen", mine_url), ("Hilfsangebote", reverse("reports:help"))))


def _queue_card(user, roles, now, attention: list[Attention]) -> Card:
    from beistand.reports import services as reports

    waiting = reports.queue(user)
    total = waiting.count()
    overdue = waiting.filter(due_at__lt=now).count()
    queue_url = reverse("reports:queue")
    if overdue:
        attention.append(Attention(
            "danger", _n(overdue, "Meldung in Ihrer Arbeitsliste ist", "Meldungen in Ihrer "
                       "Arbeitsliste sind") + " überfällig.",
            _first_link(("Arbeitsliste", queue_url))))
    tasks = []
    if Role.SUPERVISOR in roles:
        tasks.append("Meldungen Ihres Teams prüfen und freigeben")
    if Role.PERSONNEL in roles:
        tasks.append("Strafanzeige erfassen")
    if Role.ZKS in roles:
        tasks.append("Meldungen prüfen, im Register veröffentlichen oder abschließen")
    facts = [("Wartet auf Sie", str(total)), ("davon überfällig", str(overdue))]
    links = [("Arbeitsliste öffnen", queue_url)]
    if Role.ZKS in roles:
        facts.append(("Überfällig bei allen Stellen", str(reports.overdue_reports(now).count())))
        links.append(("Überfällige Meldungen", reverse("reports:overdue")))
    return Card(
        key="queue", title="Ihre Arbeitsliste",
        tone="danger" if overdue else ("warning" if total else "success"),
        status=f"{overdue} überfällig" if overdue else (f"{total} offen" if total
                                                          else "nichts offen"),
        text=["Ihre Aufgaben im Meldewesen: " + "; ".join(tasks) + ". Die Fristen laufen "
              "in Stunden; die dringendste Meldung steht oben."],
        facts=facts, links=_links(*links))


def _statistics_card() -> Card:
    from beistand.stats import services as stats

    figures = stats.tables.key_figures(stats.parse_filters({}))
    return Card(
        key="statistics", title="Statistik",
        text=["Anonymisierte Auswertungen der Vorfälle nach Zeitraum, Gefährdungsstufe, "
              "Organisationseinheit, Standort und Delikt – ohne Namen und Schilderungen. "
              "Kleine Zahlen werden zurückgehalten."],
        facts=[("Vorfälle der letzten drei Kalenderjahre", str(figures["incidents"])),
               ("davon Gefährdungsstufe 2 oder 3", str(figures["level_2_plus"]))],
        links=_links(("Statistik öffnen", reverse("stats:dashboard")),
                     ("Jahresbericht", reverse("stats:dashboard") + "#h-annual")))


# --- Silent alarm: the alarm page for everyone, the alarm log for security, ZKS, admin --------

def _alarm_card(user, employee: Employee | None, attention: list[Attention]) -> Card:
    from beistand.alarms import services as alarms

    page_url = reverse("alarms:page")
    open_alarms = alarms.active_for(user)
    for alarm in open_alarms:
        if alarm.sender_user_id != user.pk:
            sender = alarm.sender.full_name if alarm.sender_id else "unbekannt"
            attention.append(Attention(
                "danger", f"Offener Alarm „{alarm.template.name}“ von {sender}.",
                _first_link(("Zum stillen Alarm", page_url))))
    text = ["Holt unauffällig Hilfe an Ihren Arbeitsplatz: zuerst Kolleginnen und Kollegen in "
            "der Nähe, dann weitere Stufen bis zum Sicherheitsdienst. Auf der Seite empfangen "
            "Sie auch Alarme anderer."]
    if employee is None or not employee.room_id:
        text.append("Ihnen ist kein Raum zugeordnet: Helfende finden Sie dann nur über Ihren "
                    "Standort (Browser) oder Ihre Angaben im Alarm.")
    return Card(
        key="alarm", title="Stiller Alarm",
        tone="danger" if open_alarms else "",
        status=_n(len(open_alarms), "offener Alarm", "offene Alarme") if open_alarms else "",
        text=text,
        links=_links(("Stillen Alarm öffnen", page_url),
                     ("Wer bekommt meinen Alarm jetzt?", reverse("alarms:coverage"))))


def _alarm_log_card(now) -> Card:
    from beistand.alarms import reporting
    from beistand.alarms.models import Alarm

    recent = (Alarm.objects.filter(triggered_at__gte=now - timedelta(days=30))
              .select_related("template"))
    figures = reporting.compute_statistics(recent)
    open_now = Alarm.objects.filter(state__in=[Alarm.State.COUNTDOWN, Alarm.State.TRIGGERED,
                                               Alarm.State.ACKNOWLEDGED]).count()
    return Card(
        key="alarm_log", title="Alarmprotokoll",
        tone="warning" if figures["unanswered"] else "",
        status=_n(figures["unanswered"], "Alarm ohne Zusage", "Alarme ohne Zusage")
        if figures["unanswered"] else "",
        text=["Jeder stille Alarm mit Zustellung, Antworten, Eskalationen und Entwarnung; "
              "Statistik und CSV-Export."],
        facts=[("Alarme in den letzten 30 Tagen", str(figures["real"])),
               ("davon ohne Zusage „Ich komme“", str(figures["unanswered"])),
               ("Probealarme", str(figures["test"])),
               ("Jetzt offen", str(open_now))],
        links=_links(("Alarmprotokoll öffnen", reverse("alarms:log"))))


# Roles whose workflows come with later issues: say factually what they will do here.
_UPCOMING: dict = {}
