"""The committed schema is what the seed page and Twilio's vendored OpenAPI description give,
parsed for real, and says where every constraint comes from."""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from conferences.schema import (
    GROUPS,
    SCHEMA_PATH,
    SOURCE_NAMES,
    ParameterSpec,
    Source,
    load_participant_schema,
    load_schema_document,
    parameter,
)
from conferences.schema.build import (
    EXPECTED_PARAMETER_COUNT,
    ONLY_IN_TWILIO_OAI,
    SEED_PARAMETER_COUNT,
    SchemaBuildError,
    build_schema,
    read_prose,
    read_seed,
    render_schema,
)
from conferences.schema.twilio_oai import TWILIO_OAI_PATH, read_operation


def source_for(spec: ParameterSpec, constraint: str) -> Source:
    found = spec.source_of(constraint)
    assert found is not None, f"{spec.name}.{constraint} has no source"
    return found


def test_rebuilding_from_the_seed_gives_exactly_the_committed_file(seed_html):
    assert render_schema(build_schema(seed_html)) == SCHEMA_PATH.read_text(encoding="utf-8")


def test_the_committed_file_is_pretty_printed_and_ends_with_a_newline():
    text = SCHEMA_PATH.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


def test_the_seed_has_46_body_parameters_twilio_50_and_the_schema_all_of_them(seed_html):
    seed = read_seed(seed_html)
    twilio = read_operation(TWILIO_OAI_PATH.read_text(encoding="utf-8"))
    names = [spec.name for spec in load_participant_schema()]
    assert len(seed.request_schema["properties"]) == SEED_PARAMETER_COUNT == 46
    assert len(twilio.properties) == len(names) == EXPECTED_PARAMETER_COUNT == 50
    assert load_schema_document()["parameter_count"] == 50
    assert sorted(names) == sorted({*seed.request_schema["properties"], *twilio.properties})
    assert set(names) - set(seed.request_schema["properties"]) == {
        "Trim",
        "CallToken",
        "ClientNotificationUrl",
        "CallerDisplayName",
    }
    assert twilio.operation_id == "CreateParticipant" and twilio.required == {"From", "To"}
    assert seed.request_schema["required"] == ["From", "To"]
    assert [p["name"] for p in seed.path_parameters] == ["AccountSid", "ConferenceSid"]
    assert (
        seed.path
        == "/2010-04-01/Accounts/{AccountSid}/Conferences/{ConferenceSid}/Participants.json"
    )


def test_every_parameter_is_in_exactly_one_group():
    placed = [name for group in GROUPS for name in group.parameters]
    assert len(placed) == len(set(placed)) == 50
    assert set(placed) == {spec.name for spec in load_participant_schema()}
    for spec in load_participant_schema():
        assert spec.name in next(g for g in GROUPS if g.key == spec.group).parameters
    assert [g.key for g in GROUPS] == [
        "basic",
        "call",
        "recording",
        "conference",
        "machine_detection",
        "callbacks",
        "coaching",
        "sip",
    ]
    assert {g.key: g.title for g in GROUPS}["call"] == "Call behaviour"
    assert {g.key: g.title for g in GROUPS}["conference"] == "Conference settings"


def test_field_names_are_the_snake_case_of_twilio_names():
    for spec in load_participant_schema():
        assert spec.field_name == re.sub(r"(?<!^)(?=[A-Z])", "_", spec.name).lower()
    assert parameter("StatusCallbackEvent").field_name == "status_callback_event"
    assert parameter("From").sdk_argument == "from_"


def test_every_parameter_is_an_argument_of_twilio_pythons_create_participant():
    from twilio.rest.api.v2010.account.conference.participant import ParticipantList

    accepted = set(inspect.signature(ParticipantList.create).parameters)
    assert {spec.sdk_argument for spec in load_participant_schema()} <= accepted


def test_value_lists_ranges_and_defaults_come_from_the_seeds_prose():
    expected_values = {
        "Beep": ("true", "false", "onEnter", "onExit"),
        "ConferenceRecord": ("true", "false", "record-from-start", "do-not-record"),
        "ConferenceTrim": ("trim-silence", "do-not-trim"),
        "JitterBufferSize": ("off", "small", "medium", "large"),
        "MachineDetection": ("Enable", "DetectMessageEnd"),
        "RecordingChannels": ("mono", "dual"),
        "RecordingTrack": ("inbound", "outbound", "both"),
        "StatusCallbackEvent": ("initiated", "ringing", "answered", "completed"),
        "ConferenceStatusCallbackEvent": (
            "start", "end", "join", "leave", "mute", "hold", "modify", "speaker", "announcement",
        ),
        "RecordingStatusCallbackEvent": (
            "started", "in-progress", "paused", "resumed", "stopped", "completed", "failed",
            "absent",
        ),
        "ConferenceRecordingStatusCallbackEvent": ("in-progress", "completed", "failed", "absent"),
    }  # fmt: skip
    for name, values in expected_values.items():
        spec = parameter(name)
        assert spec.values == values, name
        assert source_for(spec, "values").source == "seed-prose", name

    expected_ranges = {
        "Timeout": (5, 600),
        "MaxParticipants": (2, 250),
        "MachineDetectionSilenceTimeout": (2000, 10000),
        "MachineDetectionSpeechEndThreshold": (500, 5000),
        "MachineDetectionSpeechThreshold": (1000, 6000),
    }
    for name, (low, high) in expected_ranges.items():
        spec = parameter(name)
        assert (spec.min, spec.max) == (low, high), name
        assert source_for(spec, "min").source == source_for(spec, "max").source == "seed-prose"

    expected_defaults = {
        "Timeout": 60,
        "MaxParticipants": 250,
        "MachineDetectionSilenceTimeout": 5000,
        "MachineDetectionTimeout": 30,
        "Beep": "true",
        "Muted": False,
        "StartConferenceOnEnter": True,
        "EarlyMedia": True,
        "JitterBufferSize": "large",
        "StatusCallbackEvent": ("completed",),
        "ConferenceStatusCallbackEvent": ("start", "end"),
        "WaitMethod": "POST",
    }
    for name, default in expected_defaults.items():
        spec = parameter(name)
        assert spec.default == default, name
        assert source_for(spec, "default").source == "seed-prose", name


def test_callback_methods_are_get_or_post_from_twilio_docs_although_the_seed_lists_six():
    methods = [spec for spec in load_participant_schema() if spec.format == "http-method"]
    assert len(methods) == 6
    for spec in methods:
        assert spec.values == ("GET", "POST")
        source = source_for(spec, "values")
        assert source.source == "twilio-docs" and source.url
        assert "seed-prose" in source.agrees
        (deviation,) = [d for d in spec.deviations if d.constraint == "values"]
        assert deviation.seed == {"seed-schema": ["HEAD", "GET", "POST", "PATCH", "PUT", "DELETE"]}
        assert deviation.reason


def test_every_constraint_names_its_source_and_twilio_docs_come_with_a_url():
    constraints = ("values", "min", "max", "pattern", "min_length", "max_length", "default")
    for spec in load_participant_schema():
        for constraint in constraints:
            if getattr(spec, constraint) is not None:
                assert spec.source_of(constraint) is not None, f"{spec.name}.{constraint}"
        for source in spec.sources:
            assert source.source in SOURCE_NAMES
            if source.source == "twilio-docs":
                assert source.url and source.url.startswith("https://"), spec.name
            if source.source == "seed-prose":
                assert source.quote, f"{spec.name}.{source.constraint}"
                # A quote from the seed's prose is really there.
                assert source.quote in spec.description, f"{spec.name}.{source.constraint}"


def test_every_deviation_from_the_seed_says_why():
    deviations = {
        (spec.name, d.constraint): d for spec in load_participant_schema() for d in spec.deviations
    }
    assert deviations, "the known deviations are recorded"
    for (name, constraint), deviation in deviations.items():
        assert deviation.reason, (name, constraint)
        assert deviation.source == "twilio-docs", (name, constraint)
        assert source_for(parameter(name), constraint).url
    assert ("Region", "values") in deviations
    assert ("Label", "max_length") in deviations
    assert ("TimeLimit", "max") in deviations
    assert ("StatusCallbackEvent", "encoding") in deviations


def test_the_loaded_specs_are_frozen_and_cached():
    specs = load_participant_schema()
    assert specs is load_participant_schema()
    with pytest.raises(dataclasses.FrozenInstanceError):
        specs[0].name = "Other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("prose", "values", "default", "bounds"),
    [
        ("Can be: `a`, `b`, or `c`. The default value is `b`.", ["a", "b", "c"], "b", None),
        ("Can be `true` or `false` and the default is `false`.", ["true", "false"], "false", None),
        ("Can be:`x`, `y`. Defaults to `x y`.", ["x", "y"], "x y", None),
        ("Can be an integer between `5` and `600`, inclusive.", None, None, (5, 600)),
        ("Can be a positive integer from `2` to `250`.", None, None, (2, 250)),
        ("Possible Values: 2000-10000. Default: 5000.", None, "5000", (2000, 10000)),
        ("The default timeout is 30 seconds.", None, "30", None),
        ("Must be between 2 and 255 characters.", None, None, None),
    ],
)
def test_the_prose_reader_understands_the_seeds_phrasings(prose, values, default, bounds):
    found = read_prose(prose)
    assert found.values == values
    assert found.default == default
    assert (None if found.minimum is None else (found.minimum, found.maximum)) == bounds


def test_a_changed_range_in_the_prose_changes_the_schema(seed_html):
    changed = seed_html.replace("between `5` and `600`", "between `5` and `700`")
    assert changed != seed_html
    timeout = next(p for p in build_schema(changed)["parameters"] if p["name"] == "Timeout")
    assert timeout["max"] == 700


def test_a_seed_without_46_parameters_is_refused(seed_html):
    fewer = re.sub(r"&quot;CallReason&quot;: \{.*?\},&#xA;", "", seed_html, count=1, flags=re.S)
    assert fewer != seed_html
    with pytest.raises(SchemaBuildError, match="45 body parameters"):
        build_schema(fewer)


def test_a_seed_without_a_schema_block_is_refused():
    with pytest.raises(SchemaBuildError, match="schema"):
        build_schema("<html><body><p>nothing here</p></body></html>")


def test_the_check_command_passes_on_the_committed_file(seed_html, capsys):
    call_command("build_participant_schema", "--check")
    assert "matches" in capsys.readouterr().out


def test_the_check_command_fails_when_the_seed_has_changed(seed_html, tmp_path: Path):
    seed = tmp_path / "CreateParticipant.html"
    seed.write_text(seed_html.replace("from `2` to `250`", "from `2` to `300`"), encoding="utf-8")
    with pytest.raises(CommandError, match="out of date"):
        call_command("build_participant_schema", "--check", "--seed", str(seed))


def test_the_command_writes_the_same_file_it_checks(seed_html, tmp_path: Path):
    output = tmp_path / "create_participant.json"
    call_command("build_participant_schema", "--output", str(output))
    assert output.read_text(encoding="utf-8") == SCHEMA_PATH.read_text(encoding="utf-8")


def test_the_command_says_when_the_seed_is_missing(tmp_path: Path):
    with pytest.raises(CommandError, match="not found"):
        call_command("build_participant_schema", "--seed", str(tmp_path / "absent.html"))


def test_cross_field_rules_quote_the_seed_or_link_twilio_docs():
    for spec in load_participant_schema():
        for rule in spec.requires:
            assert rule.reason, spec.name
            other = parameter(rule.parameter)
            if rule.source in ("seed-prose", "twilio-oai"):
                assert rule.quote
                assert rule.quote in spec.description or rule.quote in other.description
            else:
                assert rule.source == "twilio-docs" and rule.url


def test_the_prose_reader_reads_length_limits():
    found = read_prose("The name in the From header. Must be between 2 and 255 characters.")
    assert (found.min_length, found.max_length) == (2, 255)


def _twilio_with(change) -> str:
    document = json.loads(TWILIO_OAI_PATH.read_text(encoding="utf-8"))
    body = document["operation"]["requestBody"]["content"]["application/x-www-form-urlencoded"]
    change(body["schema"]["properties"])
    return json.dumps(document)


def test_a_parameter_new_in_twilios_description_fails_the_build(seed_html):
    def add(properties):
        properties["RingTone"] = {"type": "string", "description": "A new one."}

    with pytest.raises(SchemaBuildError, match=r"only in Twilio's \[.*'RingTone'"):
        build_schema(seed_html, _twilio_with(add))


def test_a_parameter_gone_from_twilios_description_fails_the_build(seed_html):
    with pytest.raises(SchemaBuildError, match=r"only in the seed \['Region'\]"):
        build_schema(seed_html, _twilio_with(lambda properties: properties.pop("Region")))


def test_a_parameter_twilio_added_must_be_named_to_be_dropped(seed_html):
    # Losing one of the four named extras is a change of the product, not silence.
    with pytest.raises(SchemaBuildError, match="no longer differ"):
        build_schema(seed_html, _twilio_with(lambda properties: properties.pop("Trim")))


def test_the_parameters_only_twilio_has_are_built_from_its_description():
    for name in ONLY_IN_TWILIO_OAI:
        spec = parameter(name)
        assert not spec.in_seed and spec.twilio_oai_differences == ()
        assert {source.source for source in spec.sources} == {"twilio-oai"}, name
    trim = parameter("Trim")
    assert trim.values == ("trim-silence", "do-not-trim") and trim.default == "trim-silence"
    assert [rule.parameter for rule in trim.requires] == ["Record"]
    display_name = parameter("CallerDisplayName")
    assert (display_name.min_length, display_name.max_length) == (2, 255)
    assert [rule.endpoint for rule in display_name.requires] == ["sip"]
    assert parameter("ClientNotificationUrl").format == "uri"
    assert all(parameter(name).in_seed for group in GROUPS for name in group.parameters
               if name not in ONLY_IN_TWILIO_OAI)  # fmt: skip


def test_where_the_seed_and_twilio_differ_the_difference_is_recorded():
    differing = {
        spec.name: {d.key: d for d in spec.twilio_oai_differences}
        for spec in load_participant_schema()
        if spec.twilio_oai_differences
    }
    methods = [spec.name for spec in load_participant_schema() if spec.format == "http-method"]
    for name in methods:
        enum = differing[name]["enum"]
        assert enum.seed == ["HEAD", "GET", "POST", "PATCH", "PUT", "DELETE"]
        assert enum.twilio_oai == ["GET", "POST"] == list(parameter(name).values or ())
    # Twilio's To now names TwiML App destinations (which the form refuses, see its note).
    assert "TwiML App" in differing["To"]["description"].twilio_oai
    assert "us2" in differing["Region"]["description"].twilio_oai


def test_machine_detection_timeout_has_twilios_range_from_error_21234():
    spec = parameter("MachineDetectionTimeout")
    assert (spec.min, spec.max) == (3, 59)
    assert source_for(spec, "min").url == "https://www.twilio.com/docs/api/errors/21234"
