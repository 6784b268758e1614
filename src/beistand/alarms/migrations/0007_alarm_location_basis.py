from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("alarms", "0006_client_key_pressed_at_epoch"),
    ]

    operations = [
        migrations.AddField(
            model_name="alarm",
            name="location_basis",
            field=models.CharField(blank=True, choices=[("visit", "Besuch"),
                                                        ("phone", "Handy-Position"),
                                                        ("room", "Raum")], max_length=5),
        ),
        migrations.AddField(
            model_name="alarm",
            name="position_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
