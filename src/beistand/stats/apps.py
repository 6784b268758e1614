from django.apps import AppConfig


class StatsConfig(AppConfig):
    name = "beistand.stats"
    label = "stats"
    verbose_name = "Statistik"
