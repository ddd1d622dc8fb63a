"""Settings are read one way: each CIS_* name the code reads is declared once, with its default,
in the settings (cis.config.settings.base), never defaulted again where it is read."""

from __future__ import annotations

import re
from pathlib import Path

import cis

SRC = Path(cis.__file__).parent
BASE = SRC / "config" / "settings" / "base.py"
READ = re.compile(r"\bsettings\.(CIS_[A-Z0-9_]+)")
DEFAULTED = re.compile(r"getattr\(\s*settings\s*,\s*[\"'](CIS_[A-Z0-9_]+)")
FROM_ENVIRONMENT = re.compile(r"os\.(?:environ\.get\(|getenv\(|environ\[)\s*[\"'](CIS_[A-Z0-9_]+)")
DECLARED = re.compile(r"^(CIS_[A-Z0-9_]+)\s*(?::[^=]*)?=", re.MULTILINE)


def _sources() -> list[Path]:
    return [
        p for p in SRC.rglob("*.py") if "settings" not in p.parts and "migrations" not in p.parts
    ]


def test_every_setting_the_code_reads_is_declared_in_the_settings() -> None:
    declared = set(DECLARED.findall(BASE.read_text()))
    read = {name: path for path in _sources() for name in READ.findall(path.read_text())}
    missing = {
        name: str(path.relative_to(SRC)) for name, path in read.items() if name not in declared
    }
    assert not missing, f"read but not declared in settings/base.py: {missing}"


def test_no_setting_gets_a_second_default_where_it_is_read() -> None:
    found = {
        str(path.relative_to(SRC)): DEFAULTED.findall(path.read_text())
        for path in _sources()
        if DEFAULTED.search(path.read_text())
    }
    assert not found, f"read with getattr and a default of its own: {found}"


def test_every_setting_declared_once() -> None:
    names = DECLARED.findall(BASE.read_text())
    twice = sorted({n for n in names if names.count(n) > 1})
    assert not twice, twice


def test_no_module_reads_a_cis_variable_from_the_environment_but_the_settings() -> None:
    found = {
        str(path.relative_to(SRC)): FROM_ENVIRONMENT.findall(path.read_text())
        for path in _sources()
        if FROM_ENVIRONMENT.search(path.read_text())
    }
    # The `cis` command picks the settings module and its data directory before any settings
    # exist (cis.cli); everything else reads `settings.CIS_...`.
    found.pop("cli.py", None)
    assert not found, f"read from the environment, not the settings: {found}"
