"""Property tests on card SPECs (`--card`), the agent's one parser of what a person types: any
text opens a card or gets one clear line saying what is wrong, never a traceback."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cis_card.base import CardError
from cis_card.spec import parse_spec

from .conftest import SERVER, Agent

SPECS = st.one_of(
    st.text(max_size=40),
    st.builds(
        "{}:{}".format,
        st.sampled_from(["virtual", "pkcs11", "VIRTUAL", "", "file"]),
        st.text(max_size=30),
    ),
    st.builds(
        "pkcs11:{}:{}".format,
        st.sampled_from(["/nonexistent.so", "/etc/hostname", "", "/dev/null", "/proc"]),
        st.text(max_size=12),
    ),
    st.sampled_from(["virtual:", "virtual:/", "virtual:/dev/null", "virtual:/etc", "pkcs11::"]),
)


@given(SPECS)
def test_any_spec_parses_or_says_what_a_spec_is(spec: str) -> None:
    try:
        kind, where, label = parse_spec(spec)
    except CardError as exc:
        assert "virtual:PATH or pkcs11:MODULE_PATH:TOKEN_LABEL" in str(exc)
    else:
        assert kind in ("virtual", "pkcs11")
        assert where
        assert kind == "virtual" or label


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(spec=SPECS)
def test_any_spec_on_the_command_line_gets_one_clear_line(agent: Agent, spec: str) -> None:
    result = agent("status", "--server", SERVER, "--card", spec)
    assert result.exit_code != 0  # none of these is a card
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(("cis-agent: ", "Error: ")), result.stderr
    assert "unexpected error" not in lines[0], result.stderr
    assert "Traceback" not in result.output + result.stderr
