"""Browser login: password, second factor (enrolment and verification), lockout, logout,
``next`` handling, idle timeout, demo mode."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from beistand.accounts.roles import Role
from beistand.audit.models import AuditEvent
from tests.accounts.helpers import (
    actions_since,
    audit_mark,
    code_for,
    fresh_code,
    login_verified,
    password_login,
    totp_device,
    wrong_code,
)
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/konto/anmelden/"
SECOND = "/konto/zwei-faktor/"
SETUP = "/konto/zwei-faktor/einrichten/"


def _actions():
    return list(AuditEvent.objects.values_list("action", flat=True))




# --- the login page -----------------------------------------------------------------------------

def test_login_page_is_accessible_german_form(client):
    response = client.get(LOGIN)
    html = response.content.decode()
    assert response.status_code == 200
    assert '<label class="kern-label" for="id_username">Benutzername' in html
    assert '<label class="kern-label" for="id_password">Passwort' in html
    assert 'autocomplete="username"' in html
    assert 'autocomplete="current-password"' in html
    assert "kern-btn kern-btn--primary" in html
    assert "Mit Dienstkonto anmelden" not in html  # OIDC is off


def test_wrong_password_gives_german_error_and_changes_nothing(client, make_user):
    make_user("melder")
    mark = audit_mark()
    response = password_login(client, "melder", "falsch")
    html = response.content.decode()
    assert response.status_code == 400
    assert "Benutzername oder Passwort ist falsch." in html
    assert "_auth_user_id" not in client.session
    assert actions_since(mark) == ["auth.login_failed"]


def test_unknown_user_gets_the_same_message(client, org):
    response = password_login(client, "niemand", "falsch")
    assert response.status_code == 400
    assert "Benutzername oder Passwort ist falsch." in response.content.decode()


def test_missing_fields_are_named_and_linked(client, org):
    response = client.post(LOGIN, {"username": "", "password": ""})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Bitte geben Sie Ihren Benutzernamen ein." in html
    assert "Bitte geben Sie Ihr Passwort ein." in html
    # Each error is linked to its input.
    assert 'aria-describedby="id_username_error"' in html
    assert 'id="id_username_error"' in html
    assert 'aria-invalid="true"' in html


def test_reporter_logs_in_without_second_factor(client, make_user):
    make_user("melder")
    response = password_login(client, "melder")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert "auth.login" in _actions()


@pytest.mark.parametrize("target,expected", [
    ("/konto/sicherheit/", "/konto/sicherheit/"),
    ("https://evil.example/phish", "/"),
    ("//evil.example/", "/"),
    ("javascript:alert(1)", "/"),
])
def test_next_is_followed_only_on_this_site(client, make_user, target, expected):
    make_user("melder")
    response = password_login(client, "melder", next_url=target)
    assert response["Location"] == expected


def test_already_logged_in_user_is_sent_on(client, make_user):
    user = make_user("melder")
    client.force_login(user)
    response = client.get(LOGIN + "?next=/konto/sicherheit/")
    assert response["Location"] == "/konto/sicherheit/"


# --- second factor ------------------------------------------------------------------------------

def test_privileged_user_without_device_must_enrol(client, make_user):
    make_user("zks", roles=[Role.ZKS])
    response = password_login(client, "zks", next_url="/konto/sicherheit/")
    assert response.status_code == 302
    assert response["Location"].startswith(SETUP)
    assert "next=%2Fkonto%2Fsicherheit%2F" in response["Location"]

    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in html and 'role="img"' in html and "QR-Code" in html
    device = TOTPDevice.objects.get(user__username="zks")
    assert not device.confirmed
    import base64
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    assert secret[:4] + " " + secret[4:8] in html  # grouped for manual entry
    assert 'autocomplete="one-time-code"' in html
    # Reloading shows the same secret (the app may have scanned it already).
    client.get(response["Location"])
    assert TOTPDevice.objects.filter(user__username="zks").count() == 1


def test_enrolment_rejects_wrong_code_and_confirms_right_one(client, make_user):
    make_user("zks", roles=[Role.ZKS])
    password_login(client, "zks")
    client.get(SETUP)
    device = TOTPDevice.objects.get(user__username="zks")

    bad = client.post(SETUP, {"code": wrong_code(device), "next": "/konto/sicherheit/"})
    assert bad.status_code == 400
    assert "Der Code stimmt nicht." in bad.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    # Still half-authenticated: the start page sends back to the second factor.
    assert client.get("/")["Location"].startswith(SECOND)

    device.throttling_failure_count = 0  # skip django-otp's back-off wait in the test
    device.save()
    good = client.post(SETUP, {"code": code_for(device), "next": "/konto/sicherheit/"})
    assert good.status_code == 302
    assert good["Location"] == "/konto/sicherheit/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/").status_code == 200
    assert "auth.second_factor_enrolled" in _actions()


def test_enrolment_cannot_replace_an_existing_device(client, make_user):
    user = make_user("zks", roles=[Role.ZKS])
    totp_device(user)
    password_login(client, "zks")
    response = client.get(SETUP)
    assert response["Location"].startswith(SECOND)
    assert TOTPDevice.objects.filter(user=user).count() == 1


def test_privileged_user_with_device_verifies_code(client, make_user):
    user = make_user("personal", roles=[Role.PERSONNEL])
    device = totp_device(user)
    response = password_login(client, "personal", next_url="/konto/sicherheit/")
    assert response["Location"] == SECOND + "?next=%2Fkonto%2Fsicherheit%2F"
    session_key = client.session.session_key

    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Zwei-Faktor-Anmeldung" in page.content.decode()

    bad = client.post(SECOND, {"code": wrong_code(device), "next": "/konto/sicherheit/"})
    assert bad.status_code == 400
    assert "Der Code ist falsch oder abgelaufen." in bad.content.decode()
    assert _actions().count("auth.login_failed") == 1

    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.save()
    good = client.post(SECOND, {"code": code_for(device), "next": "/konto/sicherheit/"})
    assert good["Location"] == "/konto/sicherheit/"
    assert client.session.session_key != session_key  # new key on privilege elevation
    assert client.get("/konto/sicherheit/").status_code == 200
    assert "auth.second_factor_verified" in _actions()


def test_codes_with_spaces_are_accepted(client, make_user):
    user = make_user("personal", roles=[Role.PERSONNEL])
    device = totp_device(user)
    password_login(client, "personal")
    code = code_for(device)
    response = client.post(SECOND, {"code": f"{code[:3]} {code[3:]}"})
    assert response.status_code == 302


def test_code_cannot_be_replayed(client, make_user):
    user = make_user("personal", roles=[Role.PERSONNEL])
    device = totp_device(user)
    password_login(client, "personal")
    code = code_for(device)
    assert client.post(SECOND, {"code": code}).status_code == 302

    other = type(client)()
    password_login(other, "personal")
    assert other.post(SECOND, {"code": code}).status_code == 400


def test_throttling_after_wrong_code_is_explained(client, make_user):
    user = make_user("personal", roles=[Role.PERSONNEL])
    device = totp_device(user)
    password_login(client, "personal")
    client.post(SECOND, {"code": wrong_code(device)})
    response = client.post(SECOND, {"code": code_for(device)})
    assert response.status_code == 400
    assert "Zu viele falsche Codes. Bitte warten Sie" in response.content.decode()


@pytest.mark.parametrize("path", ["/", "/konto/sicherheit/", "/konto/verwaltung/rollen/",
                                  "/django-admin/"])
def test_half_authenticated_session_reaches_nothing_but_the_second_factor(client, make_user,
                                                                          path):
    user = make_user("admin", roles=[Role.ADMIN])
    totp_device(user)
    password_login(client, "admin")
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(SECOND)


def test_half_authenticated_session_does_not_count_for_the_api(client, make_user):
    user = make_user("admin", roles=[Role.ADMIN])
    totp_device(user)
    password_login(client, "admin")
    assert client.get("/api/v1/auth/me").status_code == 401
    assert client.get("/api/v1/roles/grants").status_code == 401


def test_verified_session_counts_for_the_api(client, make_user):
    user = make_user("admin", roles=[Role.ADMIN])
    login_verified(client, user)
    assert client.get("/api/v1/auth/me").json()["username"] == "admin"


def test_second_factor_failures_lock_out_and_end_the_session(client, make_user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # no back-off wait, so every try counts
    user = make_user("personal", roles=[Role.PERSONNEL])
    device = totp_device(user)
    password_login(client, "personal")
    client.post(SECOND, {"code": wrong_code(device)})
    client.post(SECOND, {"code": wrong_code(device)})
    response = client.post(SECOND, {"code": wrong_code(device)})
    assert response.status_code == 429
    assert "Zu viele Fehlversuche" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Even the right password is refused now.
    again = password_login(client, "personal")
    assert again.status_code == 429


def test_non_privileged_second_factor_page_just_passes(client, make_user):
    client.force_login(make_user("melder"))
    assert client.get(SECOND + "?next=/konto/sicherheit/")["Location"] == "/konto/sicherheit/"


# --- lockout ------------------------------------------------------------------------------------

def test_lockout_after_repeated_failures(client, make_user, settings):
    make_user("melder")
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        assert password_login(client, "melder", "falsch").status_code == 400
    locked = password_login(client, "melder", "falsch")
    assert locked.status_code == 429
    html = locked.content.decode()
    assert "Zu viele Fehlversuche" in html
    assert "vorübergehend gesperrt" in html
    # The right password does not help while locked, and reveals nothing.
    right = password_login(client, "melder")
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session


def test_success_resets_the_failure_count(client, make_user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    make_user("melder")
    password_login(client, "melder", "falsch")
    password_login(client, "melder", "falsch")
    assert password_login(client, "melder").status_code == 302
    client.post("/konto/abmelden/")
    password_login(client, "melder", "falsch")
    assert password_login(client, "melder", "falsch").status_code == 400


# --- logout, idle timeout -----------------------------------------------------------------------

def test_logout_needs_post(client, make_user):
    client.force_login(make_user("melder"))
    page = client.get("/konto/abmelden/")
    assert page.status_code == 200
    assert "_auth_user_id" in client.session
    response = client.post("/konto/abmelden/")
    assert response["Location"] == LOGIN
    assert "_auth_user_id" not in client.session
    assert "Sie wurden abgemeldet." in client.get(LOGIN).content.decode()
    assert "auth.logout" in _actions()


def test_idle_session_expires(client, make_user, settings):
    settings.SESSION_COOKIE_AGE = 120
    make_user("melder")
    password_login(client, "melder")
    key = client.session.session_key
    before = Session.objects.get(session_key=key).expire_date
    assert before <= timezone.now() + timedelta(seconds=121)

    # Activity pushes the expiry forward (SESSION_SAVE_EVERY_REQUEST).
    session = Session.objects.get(session_key=key)
    session.expire_date = timezone.now() + timedelta(seconds=5)
    session.save()
    assert client.get("/").status_code == 200
    assert Session.objects.get(session_key=key).expire_date > timezone.now() + timedelta(
        seconds=100)

    # Idle longer than the age: the next request is anonymous and must log in again.
    session = Session.objects.get(session_key=key)
    session.expire_date = timezone.now() - timedelta(seconds=1)
    session.save()
    response = client.get("/konto/sicherheit/")
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_idle_timeout_setting_is_the_cookie_age():
    from django.conf import settings

    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.SESSION_COOKIE_AGE == 30 * 60


# --- demo mode ----------------------------------------------------------------------------------

def test_demo_mode_skips_the_second_factor(client, make_user, settings):
    settings.DEMO_MODE = True
    make_user("admin", roles=[Role.ADMIN])
    response = password_login(client, "admin", next_url="/konto/verwaltung/rollen/")
    assert response["Location"] == "/konto/verwaltung/rollen/"
    assert client.get("/konto/verwaltung/rollen/").status_code == 200


def test_outside_demo_mode_admin_needs_the_second_factor(client, make_user, settings):
    settings.DEMO_MODE = False
    make_user("admin", roles=[Role.ADMIN])
    response = password_login(client, "admin", next_url="/konto/verwaltung/rollen/")
    assert response["Location"].startswith(SETUP)


def test_login_page_mentions_demo_passwords_only_in_demo(client, org, settings):
    settings.DEMO_MODE = True
    assert "Passwort „demo“" in client.get(LOGIN).content.decode()
    settings.DEMO_MODE = False
    assert "Passwort „demo“" not in client.get(LOGIN).content.decode()


def test_reset_second_factor_command(make_user):
    import io

    from django.core.management import call_command

    user = make_user("zks", roles=[Role.ZKS])
    totp_device(user)
    admin = make_user("admin", roles=[Role.ADMIN])
    second = make_user("admin2", roles=[Role.ADMIN])  # a ZKS's phone: four eyes
    proof = io.StringIO(f"{PASSWORD}\n{fresh_code(totp_device(admin))}\n"
                        f"{PASSWORD}\n{fresh_code(totp_device(second))}\n")
    call_command("reset_second_factor", "zks", "--as", "admin", "--with", "admin2", stdin=proof)
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert "auth.second_factor_reset" in _actions()


def test_fresh_code_helper_is_valid(make_user):
    user = make_user("x", roles=[Role.ZKS])
    device = totp_device(user)
    assert device.verify_token(fresh_code(device))
    assert PASSWORD
