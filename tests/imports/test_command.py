"""`cis import` as operators run it: the report on standard error, exit statuses, JSON."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from cis.organisations.models import Organisation, RegistrationAuthority
from tests.cli.test_real_processes import _cis

from .conftest import SAMPLES

CIS = str(Path(sys.executable).with_name("cis"))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cis-import")
    assert _cis(path, "migrate", "--no-input", "-v", "0").returncode == 0
    assert _cis(path, "ra", "add", "--code", "RA-I", "--name", "Import RA").returncode == 0
    return path


def test_a_real_import_twice_then_a_bad_file(data_dir: Path, tmp_path: Path) -> None:
    first = _cis(data_dir, "import", "ods", str(SAMPLES / "etr-sample.csv"), "--ra", "RA-I")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "Imported 1 row(s): 1 created."
    again = _cis(data_dir, "import", "ods", str(SAMPLES / "etr-sample.csv"), "--ra", "RA-I")
    assert again.stdout.strip() == "Imported 1 row(s): 1 unchanged."
    bad = tmp_path / "ets.csv"
    good_line = (SAMPLES / "ets-sample.csv").read_text().splitlines()[0]
    bad.write_text(good_line + "\n" + good_line.replace("RZZ01", "XX") + "\n")
    result = _cis(data_dir, "import", "ods", str(bad))
    assert result.returncode != 0
    assert "line 2: Organisation Code: Enter an ODS code in the correct format" in result.stderr
    assert "1 row(s) rejected; nothing changed." in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.django_db
def test_the_json_report_names_line_field_and_reason(tmp_path: Path) -> None:
    RegistrationAuthority.objects.create(code="RA-J", name="J", geographies=["QZZ"])
    bad = tmp_path / "edispensary.csv"
    bad.write_text((SAMPLES / "edispensary-sample.csv").read_text())
    out = io.StringIO()
    with pytest.raises(CommandError, match="2 row"):
        call_command("import", "ods", str(bad), "--json", stdout=out, stderr=io.StringIO())
    report = json.loads(out.getvalue())
    assert report["applied"] is False
    assert {r["field"] for r in report["rejected"]} == {"Parent Organisation Code"}
    assert report["rejected"][0] == {
        "line": 1,
        "field": "Parent Organisation Code",
        "reason": "no organisation ZZH01 in CIS or in this file",
    }
    out = io.StringIO()
    call_command("import", "ods", str(bad), "--partial", "--json", stdout=out)
    assert json.loads(out.getvalue())["counts"] == {"created": 1}
    assert Organisation.objects.filter(ods_code="FZZ03").exists()


def test_a_missing_file_is_one_clear_line(data_dir: Path) -> None:
    result = subprocess.run(
        [CIS, "import", "esr", "/nonexistent/esr.csv"],
        env={**_env_of(data_dir)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode != 0
    assert "Cannot read /nonexistent/esr.csv" in result.stderr


def _env_of(data_dir: Path) -> dict[str, str]:
    from tests.cli.test_real_processes import _env

    return _env(data_dir)
