"""The app's records, one model family per module.

Everything is re-exported here, so `from conferences.models import DialRequest` is the one
way to name a model, and migrations keep their `conferences.models.<name>` references."""

from conferences.core.dial_states import (
    DIAL_STATUS_RANK,
    FINAL_DIAL_STATUSES,
    DialStatus,
    statuses_before,
)
from conferences.models.api_tokens import ApiIdempotencyKey, ApiToken
from conferences.models.audit import AuditEntry
from conferences.models.callbacks import (
    KINDS_NAMING_THEIR_DIAL,
    CallbackEvent,
    CallbackKind,
    CallbackTally,
    CallbackTallyMeasure,
    WebhookRejection,
    WebhookRejectionReason,
)
from conferences.models.conferences import (
    Conference,
    ConferenceControls,
    ConferenceOperator,
    ConferenceStatus,
)
from conferences.models.dials import (
    BEFORE_ANSWER_STATUSES,
    LIVE_DIAL_STATUSES,
    UNIQUE_LABEL_CONSTRAINT,
    WAITING_FOR_WORKER_STATUSES,
    DialAttempt,
    DialRequest,
)
from conferences.models.events import (
    ROLE_DEFAULTS,
    Beep,
    EventStatus,
    MonitorMode,
    OperatorLeg,
    OperatorPhone,
    RoleSettings,
    ScheduledConference,
)
from conferences.models.invitees import ROLE_ORDER, BulkDialRun, Invitee, InviteeDial, InviteeRole
from conferences.models.presets import DialPreset
from conferences.models.relay import RelayAllowedHost, RelayDelivery, RelayDeliveryStatus
from conferences.models.twilio_accounts import TwilioAccount
from conferences.models.users import User, _default_time_zone, validate_time_zone

__all__ = [
    "BEFORE_ANSWER_STATUSES",
    "DIAL_STATUS_RANK",
    "FINAL_DIAL_STATUSES",
    "KINDS_NAMING_THEIR_DIAL",
    "LIVE_DIAL_STATUSES",
    "ROLE_DEFAULTS",
    "ROLE_ORDER",
    "UNIQUE_LABEL_CONSTRAINT",
    "WAITING_FOR_WORKER_STATUSES",
    "ApiIdempotencyKey",
    "ApiToken",
    "AuditEntry",
    "Beep",
    "BulkDialRun",
    "CallbackEvent",
    "CallbackKind",
    "CallbackTally",
    "CallbackTallyMeasure",
    "Conference",
    "ConferenceControls",
    "ConferenceOperator",
    "ConferenceStatus",
    "DialAttempt",
    "DialPreset",
    "DialRequest",
    "DialStatus",
    "EventStatus",
    "Invitee",
    "InviteeDial",
    "InviteeRole",
    "MonitorMode",
    "OperatorLeg",
    "OperatorPhone",
    "RelayAllowedHost",
    "RelayDelivery",
    "RelayDeliveryStatus",
    "RoleSettings",
    "ScheduledConference",
    "TwilioAccount",
    "User",
    "WebhookRejection",
    "WebhookRejectionReason",
    "_default_time_zone",
    "statuses_before",
    "validate_time_zone",
]
