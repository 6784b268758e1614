from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "beistand.demo"
    label = "demo"
    verbose_name = "Demo"
