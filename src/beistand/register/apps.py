from django.apps import AppConfig


class RegisterConfig(AppConfig):
    name = "beistand.register"
    label = "register"
    verbose_name = "Register"

    def ready(self):
        from beistand.audit.signals import audited
        from beistand.register import models as m

        for model in (m.ProtectiveMeasure, m.RegisterPerson, m.RegisterAddress, m.RegisterEntry,
                      m.RightsRequest):
            audited(model)
