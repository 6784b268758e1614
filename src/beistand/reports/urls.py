from django.urls import path

from beistand.reports import views

app_name = "reports"
urlpatterns = [
    path("", views.mine, name="mine"),
    path("neu/", views.new, name="new"),
    path("arbeitsliste/", views.work_queue, name="queue"),
    path("ueberfaellig/", views.overdue, name="overdue"),
    path("kolleginnen/", views.colleagues, name="colleagues"),
    path("hilfe/", views.help_requests, name="help"),
    path("hilfe/<int:request_id>/", views.update_help, name="help_update"),
    path("<int:report_id>/", views.detail, name="detail"),
    path("<int:report_id>/bearbeiten/", views.edit, name="edit"),
    path("<int:report_id>/aktion/", views.act, name="act"),
    path("<int:report_id>/hilfe/", views.request_help, name="request_help"),
]
