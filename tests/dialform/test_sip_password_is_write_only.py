"""The SIP password never comes back: not in the page's HTML, not in form errors."""

from __future__ import annotations

from django.template import Context, Template

from conferences.dialing.forms import DialForm
from tests.dialform.helpers import SIP_TO, minimal_data

PASSWORD = "Tr0ub4dor&3-unique"


def _renderings(form: DialForm) -> list[str]:
    page = Template(
        "{% for key, title, fields in form.groups %}{% for field in fields %}"
        "{{ field.label_tag }}{{ field }}{{ field.errors }}{% endfor %}{% endfor %}"
        "{{ form.non_field_errors }}"
    ).render(Context({"form": form}))
    return [str(form), form.as_p(), form.as_div(), str(form["sip_auth_password"]), page]


def _error_texts(form: DialForm) -> list[str]:
    return [
        str(form.errors),
        form.errors.as_json(),
        form.errors.as_text(),
        repr(form.errors.as_data()),
        repr(form),
    ]


def test_the_password_is_not_rendered_after_a_failed_validation():
    # To is a phone number, so the SIP credentials are refused: the page comes back.
    form = DialForm(minimal_data(sip_auth_username="alice", sip_auth_password=PASSWORD))
    assert not form.is_valid()
    assert "sip_auth_password" in form.errors
    for html in _renderings(form):
        assert PASSWORD not in html
    for text in _error_texts(form):
        assert PASSWORD not in text


def test_the_password_is_not_rendered_when_another_field_fails():
    form = DialForm(
        minimal_data(
            to=SIP_TO, **{"from": "alice"}, sip_auth_username="alice",
            sip_auth_password=PASSWORD, timeout="9999",
        )
    )  # fmt: skip
    assert not form.is_valid()
    assert set(form.errors) == {"timeout"}
    for html in _renderings(form):
        assert PASSWORD not in html
    for text in _error_texts(form):
        assert PASSWORD not in text


def test_the_password_input_is_a_password_field_without_a_value():
    form = DialForm(minimal_data(to=SIP_TO, sip_auth_password=PASSWORD))
    html = str(form["sip_auth_password"])
    assert 'type="password"' in html
    assert "value=" not in html
