# Issue 18. Finding 2: a dial made for someone else's invitee keeps its numbers masked for
# the operator who placed it (a database default too: synthetic history inserts rows in
# SQL). Finding 6: webhook refusals Django makes before the view get reasons of their own.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("conferences", "0012_operator_assisted_events"),
    ]

    operations = [
        migrations.AddField(
            model_name="dialrequest",
            name="numbers_hidden_from_operator",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.AlterField(
            model_name="webhookrejection",
            name="reason",
            field=models.CharField(
                choices=[
                    ("missing-signature", "No X-Twilio-Signature header"),
                    ("unknown-account", "AccountSid of no configured account"),
                    ("bad-signature", "Signature does not match"),
                    ("malformed", "Missing the identifiers its kind needs"),
                    ("too-large", "Body over WEBHOOK_MAX_BODY_BYTES"),
                    ("too-many-fields", "More fields than DATA_UPLOAD_MAX_NUMBER_FIELDS"),
                    ("bad-host", "Host header not in ALLOWED_HOSTS"),
                ],
                max_length=24,
            ),
        ),
    ]
