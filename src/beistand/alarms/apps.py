from django.apps import AppConfig


class AlarmsConfig(AppConfig):
    name = "beistand.alarms"
    label = "alarms"
    verbose_name = "Stiller Alarm"

    def ready(self):
        from beistand.alarms import models as m
        from beistand.audit.signals import audited

        for model in (m.AlarmTemplate, m.AlarmPlan, m.AlarmTier, m.AlarmMessage):
            audited(model)
        # Alarm rows carry the sender and position: every write is audited, but not the
        # delivery bookkeeping timestamps the engine moves (they are in the alarm's timeline).
        audited(m.Alarm, exclude=("first_delivered_at", "next_deadline", "current_tier", "plan",
                                  "persisted_at"))
        # "Vorfall melden" after an alarm: the report form (reports, below) learns the origin.
        from beistand.alarms import report_hook

        report_hook.connect()
        # A revoked token's live alarm connections end at once, not at the next check.
        from beistand.accounts.revocation import tokens_revoked

        tokens_revoked.connect(_close_revoked, dispatch_uid="alarms-close-revoked")


def _close_revoked(sender, api=(), device=(), **kwargs):
    from beistand.alarms import runtime

    runtime.close_revoked({("user", ref) for ref in api} | {("device", ref) for ref in device})
