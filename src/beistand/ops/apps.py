from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "beistand.ops"
    label = "ops"
    verbose_name = "Betrieb"
