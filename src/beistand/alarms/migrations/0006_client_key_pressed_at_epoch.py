from django.db import migrations, models

import beistand.alarms.models


def distinct_epochs(apps, schema_editor):
    Inbox = apps.get_model("alarms", "Inbox")
    for inbox in Inbox.objects.only("pk").iterator():
        Inbox.objects.filter(pk=inbox.pk).update(epoch=beistand.alarms.models.new_epoch())


class Migration(migrations.Migration):

    dependencies = [
        ('alarms', '0005_all_clear_role_sms_cancelled'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='alarm',
            name='uniq_alarm_client_id',
        ),
        migrations.AddField(
            model_name='alarm',
            name='client_key',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name='alarm',
            name='pressed_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='gedrückt'),
        ),
        migrations.AddField(
            model_name='inbox',
            name='epoch',
            field=models.CharField(default=beistand.alarms.models.new_epoch, max_length=32),
        ),
        migrations.RunPython(distinct_epochs, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='alarm',
            constraint=models.UniqueConstraint(condition=models.Q(('client_key', ''), _negated=True), fields=('sender_user', 'client_key'), name='uniq_alarm_client_key'),
        ),
    ]
