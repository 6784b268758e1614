from django.urls import path

from beistand.mobile import views

app_name = "mobile"
urlpatterns = [
    path("", views.app, name="app"),
    path("verbinden/", views.connect, name="connect"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service_worker"),
]
