from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "beistand.core"
    label = "core"
    verbose_name = "Grundlagen"
