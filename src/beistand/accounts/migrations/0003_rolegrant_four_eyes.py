from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_devicetoken_alarm_templates'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='rolegrant',
            name='pending',
            field=models.BooleanField(default=False, verbose_name='wartet auf Bestätigung'),
        ),
        migrations.AddField(
            model_name='rolegrant',
            name='confirmed_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=models.deletion.PROTECT,
                                    related_name='+', to=settings.AUTH_USER_MODEL,
                                    verbose_name='bestätigt von'),
        ),
        migrations.AddField(
            model_name='rolegrant',
            name='confirmed_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='bestätigt am'),
        ),
    ]
