"""The accounts app's start page cards (see ``beistand.core.cards``): a supervisor's team, the
administrator's overview, the DPO's view of the role grants, every viewer's login and roles, and
the warning that one of the viewer's own roles ends soon."""

from datetime import timedelta

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from beistand.accounts.models import DeviceToken, RoleGrant
from beistand.accounts.roles import PRIVILEGED_ROLES, Role
from beistand.accounts.services import logged_in_via_trusted_idp, requires_second_factor
from beistand.core.cards import (
    EXPIRY_WARNING,
    MAX_NAMES,
    Card,
    Link,
    Viewer,
    capped,
    card,
    count,
    date_text,
    links,
)
from beistand.organisation import services as org

# A device that has not reported for this long is shown to the administrator.
DEVICE_SILENCE = timedelta(hours=24)


@card(40)
def team_card(viewer: Viewer) -> Card | None:
    if Role.SUPERVISOR not in viewer.roles or viewer.employee is None:
        return None
    reports = org.direct_reports(viewer.employee)
    n = len(reports)
    return Card(
        key="team", title="Ihr Team",
        status=f"{n} {'Person' if n == 1 else 'Personen'}",
        text=[f"{n} {'Beschäftigte/r berichtet' if n == 1 else 'Beschäftigte berichten'}"
              " direkt an Sie. Als direkte/r Vorgesetzte/r prüfen Sie deren Meldungen über "
              "Vorfälle und geben sie frei (Arbeitsliste)."],
        items=capped([f"{e.full_name} ({e.unit.code})" for e in reports[:MAX_NAMES]], n))


# --- Administration ------------------------------------------------------------------------------

def admin_overview(now=None) -> dict:
    """Counts of what an administrator should look after."""
    now = now or timezone.now()
    privileged_users = (RoleGrant.objects.active(now).filter(role__in=PRIVILEGED_ROLES)
                        .values_list("user_id", flat=True).distinct())
    with_totp = TOTPDevice.objects.filter(confirmed=True).values_list("user_id", flat=True)
    silent = DeviceToken.objects.filter(revoked_at__isnull=True).filter(
        Q(last_seen_at__lt=now - DEVICE_SILENCE)
        | Q(last_seen_at__isnull=True, created_at__lt=now - DEVICE_SILENCE))
    return {
        "employees_without_room": org.count_employees_without_room(),
        "units_without_head": org.units_without_head(),
        "grants_expiring": RoleGrant.objects.active(now).filter(
            expires_at__lte=now + EXPIRY_WARNING).count(),
        "privileged_without_totp": len(set(privileged_users) - set(with_totp)),
        "silent_devices": silent.count(),
        "active_devices": DeviceToken.objects.filter(revoked_at__isnull=True).count(),
    }


@card(60)
def admin_card(viewer: Viewer) -> Card | None:
    if Role.ADMIN not in viewer.roles:
        return None
    o = admin_overview(viewer.now)
    units = o["units_without_head"]
    roles_url = reverse("accounts:grants")
    devices_url = reverse("accounts:devices")
    if o["silent_devices"]:
        viewer.attend(
            "warning",
            count(o["silent_devices"], "Gerät hat", "Geräte haben")
            + " sich seit über 24 Stunden nicht gemeldet. Ein stiller Alarm von dort käme "
            "womöglich nicht an.",
            Link("Geräte prüfen", devices_url))
    if o["privileged_without_totp"]:
        viewer.attend(
            "warning",
            count(o["privileged_without_totp"], "Konto", "Konten")
            + " mit Pflicht zur Zwei-Faktor-Anmeldung "
            + ("hat" if o["privileged_without_totp"] == 1 else "haben")
            + " sie noch nicht eingerichtet.",
            Link("Rollen ansehen", roles_url))
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
        links=links(("Rollen verwalten", roles_url), ("Geräte verwalten", devices_url),
                    ("Stammdaten", reverse("admin:index"))))


# --- Data protection officer: who holds which role -----------------------------------------------

@card(100)
def grants_card(viewer: Viewer) -> Card | None:
    if Role.DPO not in viewer.roles:
        return None
    active = RoleGrant.objects.active(viewer.now)
    counts = dict(active.values_list("role").annotate(n=Count("id")).values_list("role", "n"))
    expiring = active.filter(expires_at__lte=viewer.now + EXPIRY_WARNING).count()
    return Card(
        key="grants", title="Vergebene Rollen",
        text=["Wer welche Rolle hat, entscheidet die Administration mit Begründung; jede "
              "Vergabe und jeder Entzug steht im Prüfprotokoll."],
        facts=[("Aktive Zuweisungen", str(sum(counts.values()))),
               ("davon enden in 14 Tagen", str(expiring))],
        items=[f"{Role(r).label}: {counts[r.value]}" for r in Role if r.value in counts],
        # The grants page belongs to the administrators; the DPO sees the numbers here.
        links=links(("Rollenzuweisungen ansehen", reverse("accounts:grants")))
        if Role.ADMIN in viewer.roles else [])


# --- Every viewer: login and roles, own roles that end soon --------------------------------------

@card(910)
def security_card(viewer: Viewer) -> Card:
    user, roles, request = viewer.user, viewer.roles, viewer.request
    has_totp = user_has_device(user, confirmed=True)
    privileged = bool(roles & PRIVILEGED_ROLES)
    mandatory = requires_second_factor(user, request)
    security_url = reverse("accounts:security")
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
        viewer.attend("danger", "Bitte richten Sie die Zwei-Faktor-Anmeldung ein: "
                      "für Ihre Rollen ist sie Pflicht.", Link("Sicherheit & Konto", security_url))
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
        links=links(("Sicherheit & Konto", security_url)))


@card(920)
def own_expiring_grants(viewer: Viewer) -> None:
    """No card: a warning for each of the viewer's roles that ends within EXPIRY_WARNING."""
    now = viewer.now
    soon = (RoleGrant.objects.active(now)
            .filter(user=viewer.user, expires_at__lte=now + EXPIRY_WARNING)
            .order_by("expires_at"))
    for grant in soon:
        days = max(0, (grant.expires_at - now).days)
        viewer.attend(
            "warning",
            f"Ihre Rolle „{grant.get_role_display()}“ endet am {date_text(grant.expires_at)} "
            f"({'heute' if days == 0 else f'in {days} Tagen' if days > 1 else 'morgen'}). "
            "Besteht der dienstliche Bedarf fort, beantragen Sie rechtzeitig eine Verlängerung "
            "bei der Administration.")
    return None
