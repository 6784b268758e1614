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
        # The access log's rows are fixed by digests in the audit chain; verify checks them.
        from beistand.audit.services import register_content_check
        from beistand.register import access_log

        register_content_check("Abfrageprotokoll", access_log.verify_log)
        # The report workflow (below) announces its publish step and asks for the case summary's
        # register section; the register answers both.
        from beistand.register import publishing
        from beistand.reports import signals

        signals.report_published.connect(publishing.on_report_published,
                                         dispatch_uid="register-publish")
        signals.case_summary_sections.connect(publishing.case_summary_section,
                                              dispatch_uid="register-summary")
