from django.urls import path

from beistand.alarms import views

app_name = "alarms"
urlpatterns = [
    path("", views.page, name="page"),
    path("ausloesen/", views.trigger, name="trigger"),
    path("abdeckung/", views.coverage_page, name="coverage"),
    path("protokoll/", views.log_page, name="log"),
    path("protokoll/<int:alarm_id>/", views.detail_page, name="detail"),
]
