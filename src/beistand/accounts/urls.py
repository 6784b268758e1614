from django.urls import path

from beistand.accounts import views

app_name = "accounts"
urlpatterns = [
    path("anmelden/", views.login_view, name="login"),
    path("abmelden/", views.logout_view, name="logout"),
    path("zwei-faktor/", views.second_factor, name="second_factor"),
    path("zwei-faktor/einrichten/", views.second_factor_setup, name="second_factor_setup"),
    path("sicherheit/", views.security, name="security"),
    path("sicherheit/tokens/<int:token_id>/widerrufen/", views.revoke_own_token,
         name="revoke_own_token"),
    path("verwaltung/rollen/", views.grants, name="grants"),
    path("verwaltung/rollen/vergeben/", views.grant_create, name="grant_create"),
    path("verwaltung/rollen/<int:grant_id>/entziehen/", views.grant_revoke, name="grant_revoke"),
    path("verwaltung/rollen/<int:grant_id>/bestaetigen/", views.grant_confirm,
         name="grant_confirm"),
    path("verwaltung/geraete/", views.devices, name="devices"),
    path("verwaltung/geraete/<int:device_id>/widerrufen/", views.device_revoke,
         name="device_revoke"),
]
