from django.apps import AppConfig


class OrganisationConfig(AppConfig):
    name = "beistand.organisation"
    label = "organisation"
    verbose_name = "Organisation"

    def ready(self):
        from beistand.audit.signals import audited
        from beistand.organisation import models as m

        for model in (m.Body, m.OrgUnit, m.Site, m.Building, m.Floor, m.Room, m.Employee):
            audited(model)
