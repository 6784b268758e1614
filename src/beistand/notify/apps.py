from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "beistand.notify"
    label = "notify"
    verbose_name = "Benachrichtigungen"
