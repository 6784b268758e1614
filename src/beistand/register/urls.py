from django.urls import path

from beistand.register import views

app_name = "register"
urlpatterns = [
    path("auskunft/", views.lookup, name="lookup"),
    path("auskunft/details/", views.lookup_detail, name="lookup_detail"),
    path("zugriffsprotokoll/", views.access_log, name="access_log"),
    path("zugriffsprotokoll/<int:lookup_id>/aufbewahren/", views.keep_for_audit,
         name="keep_for_audit"),
    path("verwaltung/", views.manage, name="manage"),
    path("verwaltung/personen/<int:person_id>/", views.person, name="person"),
    path("verwaltung/personen/<int:person_id>/aktion/", views.person_action,
         name="person_action"),
    path("verwaltung/personen/<int:person_id>/rechte/", views.rights_action,
         name="rights_action"),
]
urlpatterns += [
    path("verwaltung/personen/<int:person_id>/auskunft.pdf", views.access_report_pdf,
         name="access_report_pdf"),
    path("verwaltung/antraege/<int:request_id>/schreiben.pdf", views.letter_pdf,
         name="letter_pdf"),
]
