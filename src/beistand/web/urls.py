from django.urls import path

from beistand.web import views

app_name = "web"
urlpatterns = [
    path("", views.start, name="start"),
    path("pruefprotokoll/pruefen/", views.verify_audit, name="verify_audit"),
]
