# Issue 21: operator-assisted events. A conference planned for a start time, dialed out
# from its invite list at the start less a lead time (ScheduledConference; `dial_at` is
# kept beside the start so "what is due" is one indexed comparison), each invitee's role
# (host, speaker, listener: the dial-out order), the Create Participant settings each role
# joins with (RoleSettings), lecture mode on the live controls, and the `plan_events`
# permission; the operator's own phone (OperatorPhone) and their listen/whisper/barge leg
# into a conference (OperatorLeg), one call updated in place.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("conferences", "0011_api_tokens"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="dialrequest",
            options={
                "default_permissions": ("view", "change"),
                "permissions": [
                    ("dial", "Dial a caller into a conference"),
                    ("bulk_dial", "Dial an invite list"),
                    ("view_own_calls", "See the calls they dialed"),
                    ("view_all_calls", "See every operator's calls"),
                    ("view_full_numbers", "See full phone numbers"),
                    ("export_history", "Export the call history"),
                    ("listen_recordings", "Listen to the recordings of the calls they may see"),
                    (
                        "act_on_own_conference",
                        "Dial into, see and act on the conferences they run (own or were added to)",
                    ),
                    ("act_on_any_conference", "Dial into, see and act on any conference"),
                    ("end_conference", "End a conference for everyone"),
                    (
                        "add_conference_operators",
                        "Add operators to a conference, or take them off it",
                    ),
                    (
                        "plan_events",
                        "Plan, edit and cancel scheduled conferences that dial their invite list at the start",
                    ),
                    ("manage_own_presets", "Save their own dial presets"),
                    ("manage_shared_presets", "Manage shared dial presets"),
                    ("view_webhook_health", "View webhook health"),
                    ("reconcile", "Reconcile a call or conference with Twilio"),
                    ("view_audit_trail", "See the audit trail"),
                ],
            },
        ),
        migrations.AddField(
            model_name="invitee",
            name="role",
            field=models.CharField(
                choices=[("host", "Host"), ("speaker", "Speaker"), ("listener", "Listener")],
                default="speaker",
                max_length=16,
            ),
        ),
        migrations.CreateModel(
            name="ScheduledConference",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "starts_at",
                    models.DateTimeField(help_text="Stored in UTC; shown in the planner's zone."),
                ),
                ("time_zone", models.CharField(max_length=64)),
                ("dial_lead_seconds", models.PositiveIntegerField(default=120)),
                ("dial_at", models.DateTimeField()),
                ("caller_id", models.CharField(max_length=32)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("scheduled", "Scheduled"),
                            ("dialing", "Dialing out"),
                            ("dialed", "Dialed out"),
                            ("canceled", "Canceled"),
                            ("missed", "Missed: not dialed in time"),
                        ],
                        default="scheduled",
                        max_length=16,
                    ),
                ),
                ("planned_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("claimed_until", models.DateTimeField(blank=True, null=True)),
                ("dial_started_at", models.DateTimeField(blank=True, null=True)),
                ("dialed_at", models.DateTimeField(blank=True, null=True)),
                ("canceled_at", models.DateTimeField(blank=True, null=True)),
                (
                    "canceled_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="canceled_events",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "conference",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="schedule",
                        to="conferences.conference",
                    ),
                ),
                (
                    "planned_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="planned_events",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "run",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="event",
                        to="conferences.bulkdialrun",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["status", "dial_at"], name="event_due")],
            },
        ),
        migrations.AddField(
            model_name="conferencecontrols",
            name="lecture_mode",
            field=models.BooleanField(default=False),
        ),
        migrations.CreateModel(
            name="RoleSettings",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "role",
                    models.CharField(
                        choices=[
                            ("host", "Host"),
                            ("speaker", "Speaker"),
                            ("listener", "Listener"),
                        ],
                        max_length=16,
                    ),
                ),
                ("start_conference_on_enter", models.BooleanField()),
                ("end_conference_on_exit", models.BooleanField()),
                ("muted", models.BooleanField()),
                (
                    "beep",
                    models.CharField(
                        choices=[
                            ("true", "On entering and leaving"),
                            ("false", "Never"),
                            ("onEnter", "On entering"),
                            ("onExit", "On leaving"),
                        ],
                        max_length=8,
                    ),
                ),
                (
                    "conference",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="role_settings",
                        to="conferences.conference",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("conference", "role"), name="one_setting_per_role"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="OperatorPhone",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("address", models.CharField(max_length=255)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="own_phone",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="OperatorLeg",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "mode",
                    models.CharField(
                        choices=[
                            ("listen", "Listening"),
                            ("whisper", "Whispering"),
                            ("barge", "Barged in"),
                            ("left", "Left"),
                        ],
                        default="listen",
                        max_length=8,
                    ),
                ),
                ("coaching_call_sid", models.CharField(blank=True, max_length=34)),
                ("started_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "conference",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="operator_legs",
                        to="conferences.conference",
                    ),
                ),
                (
                    "dial",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="operator_leg",
                        to="conferences.dialrequest",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="operator_legs",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["conference", "user", "-started_at"], name="operator_leg_lookup"
                    )
                ],
            },
        ),
    ]
