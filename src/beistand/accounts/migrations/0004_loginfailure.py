import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_rolegrant_four_eyes'),
    ]

    operations = [
        migrations.CreateModel(
            name='LoginFailure',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name='ID')),
                ('at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                ('source', models.CharField(blank=True, db_index=True, max_length=45)),
                ('username', models.CharField(db_index=True, max_length=150)),
                ('password_key', models.CharField(db_index=True, max_length=32)),
            ],
            options={'default_permissions': ()},
        ),
    ]
