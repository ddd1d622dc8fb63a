"""Real PKI clients against the CA: openssl verify and openssl ocsp, and the pkilint commands."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.test import Client
from pytest_django.live_server_helper import LiveServer

from cis.pki import crl, hierarchy
from cis.pki.models import Certificate
from cis.pki.services import certificate_issue, certificate_revoke

from . import lint
from .conftest import Directory, make_csr, new_key

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command"),
]
VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"


def _pem(der: bytes) -> bytes:
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)


class Files:
    def __init__(self, base: Path, ca: hierarchy.Hierarchy) -> None:
        self.base = base
        self.root = base / "root.pem"
        self.issuing = base / "issuing.pem"
        self.chain = base / "chain.pem"
        self.root.write_bytes(_pem(bytes(ca.root.der)))
        self.issuing.write_bytes(_pem(bytes(ca.issuing.der)))
        self.chain.write_bytes(self.issuing.read_bytes() + self.root.read_bytes())

    def cert(self, row: Certificate, name: str) -> Path:
        path = self.base / f"{name}.pem"
        path.write_text(row.pem)
        return path

    def crl(self) -> Path:
        path = self.base / "crl.pem"
        parsed = x509.load_der_x509_crl(crl.current_crl().der)
        path.write_bytes(parsed.public_bytes(serialization.Encoding.PEM))
        return path


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=False)


@pytest.fixture
def files(tmp_path: Path, ca: hierarchy.Hierarchy) -> Files:
    return Files(tmp_path, ca)


def _verify(files: Files, leaf: Path) -> subprocess.CompletedProcess[str]:
    return _run(
        "openssl", "verify", "-CAfile", files.root, "-untrusted", files.issuing,
        "-crl_check", "-CRLfile", files.crl(), "-purpose", "sslclient", leaf,
    )  # fmt: skip


def test_openssl_verify_with_crl_check(files: Files, people: Directory) -> None:
    good = certificate_issue(actor=people.agent, person=people.holder, csr_pem=make_csr())
    bad = certificate_issue(actor=people.agent, person=people.holder, csr_pem=make_csr())
    certificate_revoke(actor=people.agent, certificate=bad, reason="keyCompromise")

    ok = _verify(files, files.cert(good, "good"))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.strip().endswith(": OK")

    refused = _verify(files, files.cert(bad, "bad"))
    assert refused.returncode != 0
    assert "certificate revoked" in refused.stdout + refused.stderr


def test_openssl_verify_checks_the_whole_chain_with_the_root_crl(
    files: Files, people: Directory, client: Client
) -> None:
    """-crl_check_all needs a current CRL for the issuing CA certificate too: the root's."""
    good = certificate_issue(actor=people.agent, person=people.holder, csr_pem=make_csr())
    bad = certificate_issue(actor=people.agent, person=people.holder, csr_pem=make_csr())
    certificate_revoke(actor=people.agent, certificate=bad, reason="keyCompromise")
    served = client.get("/pki/root.crl")
    assert served.status_code == 200
    assert served["Content-Type"] == "application/pkix-crl"
    root_crl = files.base / "root-crl.pem"
    root_crl.write_bytes(
        x509.load_der_x509_crl(served.content).public_bytes(serialization.Encoding.PEM)
    )

    def verify_all(leaf: Path, *crls: Path) -> subprocess.CompletedProcess[str]:
        return _run(
            "openssl", "verify", "-CAfile", files.root, "-untrusted", files.issuing,
            "-crl_check_all", *[a for c in crls for a in ("-CRLfile", c)],
            "-purpose", "sslclient", leaf,
        )  # fmt: skip

    without_root_crl = verify_all(files.cert(good, "good"), files.crl())
    assert without_root_crl.returncode != 0
    assert "unable to get certificate CRL" in without_root_crl.stdout + without_root_crl.stderr
    ok = verify_all(files.cert(good, "good"), files.crl(), root_crl)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    refused = verify_all(files.cert(bad, "bad"), files.crl(), root_crl)
    assert refused.returncode != 0
    assert "certificate revoked" in refused.stdout + refused.stderr


def test_openssl_verify_rsa_ca(tmp_path: Path, db: None, settings: object) -> None:
    """RSA CA keys (a setting) make a chain openssl accepts just the same."""
    from tests.factories.directory import PersonFactory  # noqa: PLC0415

    settings.CIS_CA_KEY_ALGORITHM = "rsa-2048"  # type: ignore[attr-defined]
    ca = hierarchy.ca_init()
    assert ca.root.key_algorithm == "rsa-2048"
    files = Files(tmp_path, ca)
    holder = PersonFactory()
    from cis.authz.policy import CONSOLE  # noqa: PLC0415

    cert = certificate_issue(actor=CONSOLE, person=holder, csr_pem=make_csr(new_key("rsa-2048")))
    ok = _verify(files, files.cert(cert, "leaf"))
    assert ok.returncode == 0, ok.stdout + ok.stderr


def _ocsp(files: Files, url: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return _run(
        "openssl", "ocsp", "-issuer", files.issuing, "-url", f"{url}/pki/ocsp",
        "-CAfile", files.chain, "-resp_text", *args,
    )  # fmt: skip


def test_openssl_ocsp_against_the_running_server(
    files: Files, people: Directory, live_server: LiveServer, tmp_path: Path
) -> None:
    good = certificate_issue(actor=people.agent, person=people.holder, csr_pem=make_csr())
    bad = certificate_issue(actor=people.agent, person=people.holder, csr_pem=make_csr())
    certificate_revoke(actor=people.agent, certificate=bad, reason="keyCompromise")
    good_pem, bad_pem = files.cert(good, "good"), files.cert(bad, "bad")

    answer = _ocsp(files, live_server.url, "-cert", good_pem, "-respout", tmp_path / "good.der")
    out = answer.stdout + answer.stderr
    assert answer.returncode == 0, out
    assert "Response verify OK" in out
    assert f"{good_pem}: good" in out
    # openssl sends a nonce by default and checks the echo; show it was there.
    assert "OCSP Nonce" in out
    assert "WARNING" not in out

    answer = _ocsp(files, live_server.url, "-cert", bad_pem, "-respout", tmp_path / "revoked.der")
    out = answer.stdout + answer.stderr
    assert "Response verify OK" in out
    assert f"{bad_pem}: revoked" in out
    assert "Reason: keyCompromise" in out
    assert "Revocation Time:" in out

    never = _ocsp(
        files, live_server.url, "-serial", "0x1234567890abcdef1234", "-respout",
        tmp_path / "unknown.der",
    )  # fmt: skip
    out = never.stdout + never.stderr
    assert "Response verify OK" in out
    assert ": unknown" in out
    assert ": good" not in out

    # Without a nonce the precomputed answer is served: the same bytes twice.
    first = _ocsp(
        files, live_server.url, "-cert", good_pem, "-no_nonce", "-respout", tmp_path / "a.der"
    )
    second = _ocsp(
        files, live_server.url, "-cert", good_pem, "-no_nonce", "-respout", tmp_path / "b.der"
    )
    assert "Response verify OK" in first.stdout + first.stderr
    assert f"{good_pem}: good" in second.stdout
    assert (tmp_path / "a.der").read_bytes() == (tmp_path / "b.der").read_bytes()

    # A revocation shows at once, even though "good" was cached.
    certificate_revoke(actor=people.agent, certificate=good, reason="affiliationChanged")
    after = _ocsp(files, live_server.url, "-cert", good_pem, "-no_nonce")
    assert f"{good_pem}: revoked" in after.stdout
    assert "Reason: affiliationChanged" in after.stdout

    # The responses openssl received pass the pkilint command itself.
    for name in ("good", "revoked", "unknown", "a"):
        lint_run = _run(
            VENV_BIN / "lint_ocsp_response", "lint", "-s", "WARNING", tmp_path / f"{name}.der"
        )
        assert lint_run.returncode == 0, lint_run.stdout + lint_run.stderr
        assert lint_run.stdout.strip() == ""


def test_pkilint_commands_on_every_kind_of_document(
    files: Files, people: Directory, tmp_path: Path, ca: hierarchy.Hierarchy
) -> None:
    """The installed console scripts, as an operator would run them, with zero findings."""
    ec_leaf = certificate_issue(actor=people.agent, person=people.holder, csr_pem=make_csr())
    rsa_leaf = certificate_issue(
        actor=people.agent, person=people.holder, csr_pem=make_csr(new_key("rsa-2048"))
    )
    certificate_revoke(actor=people.agent, certificate=rsa_leaf, reason="privilegeWithdrawn")
    documents = {
        "root.der": bytes(ca.root.der),
        "issuing.der": bytes(ca.issuing.der),
        "responder.der": bytes(ca.ocsp.der),
        "ec-leaf.der": bytes(ec_leaf.der),
        "rsa-leaf.der": bytes(rsa_leaf.der),
    }
    for name, der in documents.items():
        (tmp_path / name).write_bytes(der)
        run = _run(VENV_BIN / "lint_pkix_cert", "lint", "-s", "WARNING", tmp_path / name)
        assert run.returncode == 0 and run.stdout.strip() == "", f"{name}: {run.stdout}"
    # The root's CRL covers CA certificates only: pkilint calls that an ARL.
    for kind, role in (("CRL", "issuing"), ("ARL", "root")):
        (tmp_path / f"{role}.crl").write_bytes(crl.current_crl(role).der)
        for profile in ("BR", "PKIX"):
            run = _run(
                VENV_BIN / "lint_crl", "lint", "-t", kind, "-p", profile, "-s", "WARNING",
                tmp_path / f"{role}.crl",
            )  # fmt: skip
            assert run.returncode == 0 and run.stdout.strip() == "", (
                f"{kind} {profile}: {run.stdout}"
            )
    chain = _run(
        VENV_BIN / "lint_pkix_signer_signee_cert_chain", "lint", "-s", "WARNING",
        tmp_path / "issuing.der", tmp_path / "ec-leaf.der",
    )  # fmt: skip
    assert chain.returncode == 0 and chain.stdout.strip() == "", chain.stdout
    # And the in-process runner the other tests use agrees with the commands.
    assert lint.findings("cert", documents["ec-leaf.der"]) == ""
