"""The reliability suite's plumbing: its scale (short or full) and one line per check.

Each test is a check. It records its figures with the `figures` fixture; at the end the suite
prints one line per check, `RELIABILITY check=<name> result=<pass|fail|skip> <figure>=<value>...`,
whatever happened to the test, so a run's output reads as a table.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import connection

# The suite shares the main suite's per-test resets (clock, SMS outbox, CA) and data directory.
from tests.conftest import _data_dir, _reset_process_state  # noqa: F401
from tests.smartcards.conftest import active_card, ca  # noqa: F401 - cards with certificates

from .served import demo  # noqa: F401 - one demo world for the whole run

SCALES = ("short", "full")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--scale",
        choices=SCALES,
        default=os.environ.get("CIS_RELIABILITY_SCALE", "full"),
        help="short: the CI version (under 10 minutes); full: the figures in the README",
    )


@dataclass(frozen=True)
class Scale:
    """How big each check is: `scale.pick(short=10, full=100)`."""

    name: str

    def pick(self, *, short: Any, full: Any) -> Any:
        return short if self.name == "short" else full


@pytest.fixture(scope="session")
def scale(request: pytest.FixtureRequest) -> Scale:
    return Scale(str(request.config.getoption("--scale")))


@dataclass
class Figures:
    """What one check measured, in the order it was recorded."""

    values: dict[str, str] = field(default_factory=dict)

    def __setitem__(self, name: str, value: object) -> None:
        if isinstance(value, float):
            value = f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
        self.values[name] = str(value)


_RESULTS: dict[str, tuple[str, Figures]] = {}
_FIGURES = pytest.StashKey[Figures]()


def _check_name(item: pytest.Item) -> str:
    module = item.module.__name__.rsplit(".", 1)[-1].removeprefix("test_") if item.module else ""
    return f"{module}.{item.name.removeprefix('test_')}"


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Figures:
    found = Figures()
    request.node.stash[_FIGURES] = found
    found["db"] = connection.vendor
    return found


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    name = _check_name(item)
    found = item.stash.get(_FIGURES, Figures())
    previous = _RESULTS.get(name, ("pass", found))[0]
    if hasattr(report, "wasxfail"):
        result = "known-failure"  # marked xfail (strict): the reason names the bug
    elif report.skipped:
        result = "skip"
    elif report.failed:
        result = "fail"
    else:
        result = previous if report.when != "setup" else "pass"
    if previous == "fail":
        result = "fail"
    _RESULTS[name] = (result, found)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _RESULTS:
        return
    terminalreporter.section("reliability: one line per check")
    for name, (result, found) in _RESULTS.items():
        parts = " ".join(f"{k}={v}" for k, v in found.values.items())
        terminalreporter.write_line(f"RELIABILITY check={name} result={result} {parts}".rstrip())
