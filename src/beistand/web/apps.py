from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class WebConfig(AppConfig):
    name = "beistand.web"
    label = "web"
    verbose_name = "Oberfläche"

    def ready(self):
        # Every app's start page cards (``<app>/cards.py``) register with beistand.core.cards.
        autodiscover_modules("cards")
