from django.urls import path

from beistand.stats import views, views_dpo

app_name = "stats"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export.<str:fmt>", views.export, name="export"),
    path("jahresbericht/", views.annual_report, name="annual_report"),
    path("datenschutz/", views_dpo.overview, name="dpo"),
    path("datenschutz/<str:document>.<str:fmt>", views_dpo.document, name="dpo_document"),
]
