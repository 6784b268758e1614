from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "beistand.reports"
    label = "reports"
    verbose_name = "Meldungen"

    def ready(self):
        from beistand.audit.signals import audited
        from beistand.reports import models as m

        for model in (m.Offence, m.Report, m.Perpetrator, m.Witness, m.Attachment,
                      m.HelpOffer, m.HelpRequest):
            audited(model)
