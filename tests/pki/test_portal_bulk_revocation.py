"""The portal's bulk revocation: a list of serials (pasted or a file) and a reason, every line
checked at once, a confirmation of exactly what will be revoked, then all or none."""

from __future__ import annotations

import re

import pytest
from cryptography.x509 import ocsp
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from cis.audit import refusals
from cis.audit.models import AuditEvent
from cis.authz.actions import Action
from cis.pki.hierarchy import Hierarchy
from cis.pki.models import Certificate
from cis.pki.states import CertificateStatus

from .conftest import Directory, issue_for, ocsp_status

pytestmark = pytest.mark.django_db

URL = "/certificates/revoke/"


def _as(client: Client, person: object) -> Client:
    client.force_login(person)  # type: ignore[arg-type]
    return client


def _statuses(certs: list[Certificate]) -> set[str]:
    return set(
        Certificate.objects.filter(pk__in=[c.pk for c in certs]).values_list("status", flat=True)
    )


def _changes() -> int:
    return AuditEvent.objects.exclude(action__in=refusals.REFUSAL_ACTIONS).count()


def test_an_ra_agent_checks_confirms_and_revokes_a_pasted_list(
    client: Client, ca: Hierarchy, people: Directory
) -> None:
    certs = [issue_for(people) for _ in range(3)]
    _as(client, people.agent)
    listing = client.get("/certificates/")
    assert 'href="/certificates/revoke/"' in listing.content.decode()  # linked from the list

    form = client.get(URL)
    assert form.status_code == 200
    assert "superseded" not in form.content.decode().lower()  # a renewal's, not a batch's

    typed = "\n".join(
        [certs[0].serial_hex.upper(), "", f"0x{certs[1].serial_hex}", certs[2].serial_hex,
         certs[0].serial_hex]  # a repeat is counted once
    )  # fmt: skip
    before = _changes()
    check = client.post(URL, {"serials": typed, "reason": "key_compromise"})
    assert check.status_code == 200
    html = check.content.decode()
    assert "Revoke 3 certificates?" in html
    assert "Harriet Holder" in html
    assert "1 line named a certificate already in the list" in html
    assert _statuses(certs) == {CertificateStatus.VALID}  # nothing yet
    assert _changes() == before
    carried = re.search(r'name="serials" value="([^"]+)"', html)
    assert carried is not None

    done = client.post(
        URL,
        {"serials": carried.group(1), "reason": "key_compromise", "confirm": "1"},
        follow=True,
    )
    assert done.redirect_chain[-1][0] == "/certificates/revoke/done/"
    page = done.content.decode()
    assert "3 certificates revoked" in page
    assert "key compromise" in page
    assert _statuses(certs) == {CertificateStatus.REVOKED}
    for cert in certs:
        assert cert.serial_hex in page
        assert ocsp_status(ca, cert) == ocsp.OCSPCertStatus.REVOKED
    events = AuditEvent.objects.filter(action=Action.CERTIFICATE_REVOKE)
    assert sorted(events.values_list("target_ref", flat=True)) == sorted(
        c.serial_hex for c in certs
    )
    detail = client.get(f"/certificates/{certs[0].serial_hex}/")
    assert "Revoked" in detail.content.decode()


def test_every_bad_line_is_reported_at_once_and_nothing_changes(
    client: Client, ca: Hierarchy, people: Directory
) -> None:
    good = issue_for(people)
    revoked = issue_for(people)
    _as(client, people.agent)
    client.post(URL, {"serials": revoked.serial_hex, "reason": "unspecified"})
    client.post(URL, {"serials": revoked.serial_hex, "reason": "unspecified", "confirm": "1"})
    outsider = issue_for(people, people.outsider)  # out of the agent's sight
    own = issue_for(people, people.agent)  # nobody revokes their own
    unknown = "7f" + "00" * 19
    lines = [good.serial_hex, "not-a-serial", outsider.serial_hex, unknown, own.serial_hex,
             revoked.serial_hex]  # fmt: skip
    before = _changes()

    answer = client.post(URL, {"serials": "\n".join(lines), "reason": "key_compromise"})

    assert answer.status_code == 200
    html = answer.content.decode()
    assert "Error: " in html  # in the title
    assert "5 lines cannot be revoked (lines 2, 3, 4, 5, 6)" in html
    report = html[html.index('id="refused-lines"') :]
    rows = re.findall(r"<tr class=\"nhsuk-table__row\">(.*?)</tr>", report, re.S)[1:]
    problems = [re.sub(r"<[^>]+>|\s+", " ", row) for row in rows]
    assert "not a certificate serial number" in problems[0]
    # Out of sight and never issued read exactly alike.
    assert problems[1].split(outsider.serial_hex)[1] == problems[2].split(unknown)[1]
    assert "No such certificate, or not one you can see" in problems[1]
    assert "own record" in problems[3]
    assert "already revoked" in problems[4]
    assert good.serial_hex in html  # the whole list is back in the box to correct
    assert _statuses([good, outsider, own]) == {CertificateStatus.VALID}
    assert _changes() == before


def test_a_file_of_serials(client: Client, ca: Hierarchy, people: Directory) -> None:
    certs = [issue_for(people) for _ in range(2)]
    _as(client, people.agent)
    upload = SimpleUploadedFile(
        "serials.txt", ("\n".join(c.serial_hex for c in certs) + "\n").encode(), "text/plain"
    )
    check = client.post(URL, {"file": upload, "reason": "privilege_withdrawn"})
    assert "Revoke 2 certificates?" in check.content.decode()
    binary = SimpleUploadedFile("serials.bin", b"\xff\xfe\x00\x81", "application/octet-stream")
    refused = client.post(URL, {"file": binary, "reason": "privilege_withdrawn"})
    assert "The file must be a text file of serial numbers" in refused.content.decode()
    empty = client.post(URL, {"serials": "  \n", "reason": "unspecified"})
    assert "Enter serial numbers or choose a file of them" in empty.content.decode()
    no_reason = client.post(URL, {"serials": certs[0].serial_hex})
    assert "Select why they are being revoked" in no_reason.content.decode()
    assert _statuses(certs) == {CertificateStatus.VALID}


def test_a_change_after_the_confirmation_revokes_nothing(
    client: Client, ca: Hierarchy, people: Directory
) -> None:
    """All or none: one of the confirmed list revoked meanwhile (by its page), and the rest
    stay valid, with the list checked again and the problem shown."""
    certs = [issue_for(people) for _ in range(2)]
    _as(client, people.agent)
    serials = " ".join(c.serial_hex for c in certs)
    client.post(
        f"/certificates/{certs[1].serial_hex}/revoke/", {"reason": "unspecified"}
    )  # meanwhile
    answer = client.post(URL, {"serials": serials, "reason": "unspecified", "confirm": "1"})
    assert answer.status_code == 200
    assert "already revoked" in answer.content.decode()
    assert _statuses([certs[0]]) == {CertificateStatus.VALID}


@pytest.mark.parametrize("who", ["anonymous", "holder", "lsa"])
def test_only_those_who_may_revoke(
    client: Client, ca: Hierarchy, people: Directory, who: str
) -> None:
    cert = issue_for(people)
    if who != "anonymous":
        _as(client, getattr(people, who))
    page = client.get(URL)
    sent = client.post(URL, {"serials": cert.serial_hex, "reason": "unspecified", "confirm": "1"})
    if who == "anonymous":
        assert page.status_code == sent.status_code == 302  # to sign in
    else:
        assert page.status_code == sent.status_code == 403
    if who == "lsa":  # sees the certificates, but no link to revoke them
        assert "/certificates/revoke/" not in client.get("/certificates/").content.decode()
    assert _statuses([cert]) == {CertificateStatus.VALID}
    assert client.get("/certificates/revoke/done/").status_code in (302, 403)
