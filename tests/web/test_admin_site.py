"""The Django admin ("Stammdaten") is for the administrator role only, behind beistand's login."""


def test_anonymous_is_sent_to_beistand_login(client, db):
    response = client.get("/django-admin/")
    assert response.status_code == 302
    login = client.get(response["Location"])
    assert login.status_code == 302
    assert login["Location"].startswith("/konto/anmelden/?next=")
    assert "django-admin" in login["Location"]


def test_admin_login_form_is_never_shown(client, db):
    response = client.get("/django-admin/login/")
    assert response.status_code == 302
    assert response["Location"].startswith("/konto/anmelden/")


def test_user_without_admin_role_gets_german_403(client, people, settings):
    settings.DEMO_MODE = True
    client.force_login(people["dsb"])
    response = client.get("/django-admin/", follow=True)
    assert response.status_code == 403
    assert "Keine Berechtigung" in response.content.decode()


def test_admin_reaches_the_index(client, people, settings):
    settings.DEMO_MODE = True
    client.force_login(people["admin"])
    response = client.get("/django-admin/")
    assert response.status_code == 200
    assert "Stammdaten" in response.content.decode()
    assert client.get("/django-admin/login/")["Location"] == "/django-admin/"
