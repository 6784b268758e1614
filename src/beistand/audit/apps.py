from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "beistand.audit"
    label = "audit"
    verbose_name = "Protokoll"

    def ready(self):
        from beistand.audit import signals  # noqa: F401  (connects the model-write recorder)
