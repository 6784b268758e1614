from django.apps import AppConfig


class MobileConfig(AppConfig):
    name = "beistand.mobile"
    label = "mobile"
    verbose_name = "Handy-App"

    def ready(self):
        from beistand.audit.signals import audited
        from beistand.mobile.models import Visit

        # Starting, answering and ending a visit are audited; the position the phone reports
        # every minute is not (it is kept on the row only as "last known position").
        audited(Visit, exclude=("last_lat", "last_lon", "last_accuracy_m", "position_at"))

        # A device trigger of a person on a running visit places the alarm at the visit.
        from beistand.alarms.services import register_visit_place
        from beistand.mobile.visits import running_visit_place

        register_visit_place(running_visit_place)
