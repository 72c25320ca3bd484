"""Twilio's official OpenAPI description of Create Participant, vendored.

The product was specified from the seed page (46 body parameters); Twilio's own OpenAPI
description (twilio/twilio-oai, ``spec/json/twilio_api_v2010.json``) has moved on since.
The whole description is 1.8 MB; ``twilio_oai_create_participant.json`` keeps only the
Create Participant operation, verbatim, with the commit it was taken from, so a reviewer
can compare it with upstream and ``vendor_operation`` can refresh it from a newer file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

TWILIO_OAI_PATH: Final = Path(__file__).with_name("twilio_oai_create_participant.json")
TWILIO_OAI_REPOSITORY: Final = "twilio/twilio-oai"
TWILIO_OAI_FILE: Final = "spec/json/twilio_api_v2010.json"
PARTICIPANTS_PATH: Final = (
    "/2010-04-01/Accounts/{AccountSid}/Conferences/{ConferenceSid}/Participants.json"
)
FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"


class TwilioOaiError(Exception):
    """The vendored description does not hold what the builder needs."""


@dataclass(frozen=True)
class TwilioOperation:
    """The Create Participant operation as Twilio's OpenAPI description states it."""

    commit: str
    operation_id: str
    request_schema: Mapping[str, Any]

    @property
    def properties(self) -> Mapping[str, Mapping[str, Any]]:
        properties: Mapping[str, Mapping[str, Any]] = self.request_schema["properties"]
        return properties

    @property
    def required(self) -> frozenset[str]:
        return frozenset(self.request_schema.get("required", ()))


def vendor_operation(full_description: Mapping[str, Any], *, commit: str) -> dict[str, Any]:
    """The vendored document: the POST on the Participants path, as it stands upstream."""
    try:
        operation = full_description["paths"][PARTICIPANTS_PATH]["post"]
    except KeyError as error:
        raise TwilioOaiError(f"no POST {PARTICIPANTS_PATH} in the description") from error
    return {
        "repository": TWILIO_OAI_REPOSITORY,
        "file": TWILIO_OAI_FILE,
        "commit": commit,
        "path": PARTICIPANTS_PATH,
        "method": "post",
        "operation": operation,
    }


def read_operation(text: str) -> TwilioOperation:
    try:
        document = json.loads(text)
        operation = document["operation"]
        schema = operation["requestBody"]["content"][FORM_CONTENT_TYPE]["schema"]
        if not isinstance(schema.get("properties"), dict):
            raise TwilioOaiError("the request body has no properties")
        return TwilioOperation(
            commit=str(document["commit"]),
            operation_id=str(operation["operationId"]),
            request_schema=schema,
        )
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
        raise TwilioOaiError(f"not a vendored Create Participant operation: {error}") from error


def render_vendored(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
