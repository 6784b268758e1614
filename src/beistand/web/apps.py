from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "beistand.web"
    label = "web"
    verbose_name = "Oberfläche"
