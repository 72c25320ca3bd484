# A dial's claim becomes a lease (issue 19): who holds it and until when, by the database's
# clock. A DialAttempt can say Twilio's answer did not match the request (issue 19).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("conferences", "0009_conference_operators"),
    ]

    operations: list[migrations.operations.base.Operation] = [
        migrations.AddField(
            model_name="dialrequest",
            name="claim_token",
            field=models.CharField(blank=True, db_default="", default="", max_length=32),
        ),
        migrations.AddField(
            model_name="dialrequest",
            name="claim_expires_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="dialattempt",
            name="outcome",
            field=models.CharField(
                choices=[
                    ("placed", "Placed"),
                    ("adopted", "Found already placed"),
                    ("retryable", "Failed, will retry"),
                    ("permanent", "Failed"),
                    ("unknown", "No answer from Twilio"),
                    ("mismatch", "Twilio's answer did not match the request"),
                ],
                max_length=16,
            ),
        ),
    ]
