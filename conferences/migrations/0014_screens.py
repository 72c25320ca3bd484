# Issue 20 (the screens): the admin says "audit entries", "callback tallies" and "relay
# deliveries", not "entrys", "tallys" and "deliverys". Options only: no table changes.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("conferences", "0013_security"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="auditentry",
            options={"verbose_name_plural": "audit entries"},
        ),
        migrations.AlterModelOptions(
            name="callbacktally",
            options={
                "ordering": ["-hour", "kind", "measure"],
                "verbose_name_plural": "callback tallies",
            },
        ),
        migrations.AlterModelOptions(
            name="relaydelivery",
            options={"verbose_name_plural": "relay deliveries"},
        ),
    ]
