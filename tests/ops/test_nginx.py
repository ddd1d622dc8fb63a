"""The deployment guide's nginx configuration, run as it is in front of two `cis serve`.

Debian's nginx (scripts/system-deps.sh installs it) loads docs/deploy/nginx-cis.conf with only
its paths and ports replaced (the lines marked "site:"), in front of two `cis serve` processes
under the production settings on the demo world. A card holder's certificate and key, taken
from their (virtual) card, sign in through TLS with a client certificate, as a browser with
the card in its reader would.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import signal
import ssl
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cis_card.virtual import VirtualCard
from tests.live import CIS, LiveCis, free_port

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "deploy" / "nginx-cis.conf"
NGINX = "/usr/sbin/nginx"
PRODUCTION = "cis.config.settings.production"


def _pem(path: Path, *items: x509.Certificate | x509.CertificateRevocationList) -> Path:
    path.write_bytes(b"".join(item.public_bytes(serialization.Encoding.PEM) for item in items))
    return path


def _site_tls(folder: Path) -> Path:
    """A site CA and a server certificate for 127.0.0.1; returns the CA file clients trust."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test site CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _pem(folder / "server.pem", server, ca)
    (folder / "server.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return _pem(folder / "site-ca.pem", ca)


def _card_credentials(persona: dict[str, str], folder: Path) -> tuple[Path, Path]:
    """The card's certificate and private key as files (the virtual card stands in for the
    chip the browser would use through PKCS#11)."""
    card = VirtualCard(persona["card"].removeprefix("virtual:"))
    stored = card.certificates()[0]
    with card.session(persona["passcode"]) as session:
        key = session._private(card._load(), stored.key_id)  # noqa: SLF001 - the test's browser
    cert_file = _pem(folder / "card.pem", stored.certificate)
    key_file = folder / "card.key"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def _site_config(folder: Path, ports: dict[str, int], tls: Path) -> Path:
    """The guide's file with this test's ports and paths; everything else exactly as written."""
    text = GUIDE.read_text()
    replacements = {
        "server 127.0.0.1:8001": f"server 127.0.0.1:{ports['cis1']}",
        "server 127.0.0.1:8002": f"server 127.0.0.1:{ports['cis2']}",
        "listen 80;": f"listen 127.0.0.1:{ports['http']};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{ports['https']} ssl http2;",
        "/etc/cis/tls/": f"{tls}/",
    }
    for old, new in replacements.items():
        assert old in text, f"the guide's nginx configuration no longer has {old!r}"
        text = text.replace(old, new)
    site = folder / "cis.conf"
    site.write_text(text)
    main = folder / "nginx.conf"
    temp = folder / "temp"
    temp.mkdir()
    user = "user root;\n" if os.geteuid() == 0 else ""
    main.write_text(
        f"{user}worker_processes 1;\ndaemon off;\npid {folder}/nginx.pid;\n"
        f"error_log {folder}/error.log warn;\nevents {{ worker_connections 64; }}\n"
        f"http {{\n  access_log {folder}/access.log;\n"
        + "".join(
            f"  {kind}_temp_path {temp}/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        + f"  include {site};\n}}\n"
    )
    return main


def _wait_for(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"nginx exited:\n{log.read_text() if log.exists() else ''}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/pki/ca.pem", timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)  # waiting for nginx to listen, not timing anything
    pytest.fail("nginx did not start listening")


def test_a_card_signs_in_through_the_guides_nginx(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    assert Path(NGINX).exists(), "nginx is missing: run make system-deps"
    folder = tmp_path_factory.mktemp("cis-nginx")
    live = LiveCis(
        folder / "data",
        settings_module=PRODUCTION,
        extra_env={
            "CIS_SECRET_KEY": "nginx-test-" + "x7Qp2" * 10,
            "CIS_TRUSTED_PROXIES": "127.0.0.1/32",
            "CIS_TLS_CLIENT_CERT_HEADER": "X-SSL-Client-Cert",
            "CIS_ALLOWED_HOSTS": "127.0.0.1,localhost",
        },
    )
    (folder / "data").mkdir()
    second: subprocess.Popen[str] | None = None
    nginx: subprocess.Popen[bytes] | None = None
    try:
        live.load_demo()
        live.start(workers=2)
        port2 = free_port()
        second = subprocess.Popen(  # noqa: S603 - our own command
            [CIS, "serve", "--host", "127.0.0.1", "--port", str(port2), "--workers", "1",
             "--skip-collectstatic"],
            env=live.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        tls = folder / "tls"
        tls.mkdir()
        site_ca = _site_tls(tls)
        chain = httpx.get(f"{live.url}/pki/ca.pem").content
        (tls / "cis-ca-chain.pem").write_bytes(chain)
        crls = [
            x509.load_der_x509_crl(httpx.get(f"{live.url}{path}").content)
            for path in ("/pki/crl", "/pki/root.crl")
        ]
        _pem(tls / "cis-crls.pem", *crls)
        ports = {"cis1": live.port, "cis2": port2, "http": free_port(), "https": free_port()}
        config = _site_config(folder, ports, tls)
        check = subprocess.run(  # noqa: S603
            [NGINX, "-t", "-p", str(folder), "-c", str(config), "-e", str(folder / "error.log")],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert check.returncode == 0, check.stderr
        nginx = subprocess.Popen(  # noqa: S603
            [NGINX, "-p", str(folder), "-c", str(config), "-e", str(folder / "error.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_for(ports["http"], nginx, folder / "error.log")

        # Plain HTTP: CRLs stay there; everything else is sent to TLS.
        plain = httpx.get(f"http://127.0.0.1:{ports['http']}/pki/crl")
        assert plain.status_code == 200 and plain.content == crls[0].public_bytes(
            serialization.Encoding.DER
        )
        moved = httpx.get(f"http://127.0.0.1:{ports['http']}/sign-in/")
        assert moved.status_code == 301
        assert moved.headers["location"].startswith("https://")

        base = f"https://127.0.0.1:{ports['https']}"
        anonymous = ssl.create_default_context(cafile=str(site_ca))
        with httpx.Client(base_url=base, verify=anonymous, timeout=30) as browser:
            page = browser.get("/signin/tls/")
            assert page.status_code == 200
            assert "Your browser presented" not in page.text  # no card, no certificate
            assert browser.get("/readyz").status_code == 200

        holder = live.persona("Jack Pearson")
        cert_file, key_file = _card_credentials(holder, folder)
        with_card = ssl.create_default_context(cafile=str(site_ca))
        with_card.load_cert_chain(str(cert_file), str(key_file))
        with httpx.Client(base_url=base, verify=with_card, timeout=30) as browser:
            page = browser.get("/signin/tls/")
            assert "Your browser presented" in page.text
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
            assert token is not None
            answer = browser.post(
                "/signin/tls/",
                data={"csrfmiddlewaretoken": token.group(1)},
                headers={"Referer": f"{base}/signin/tls/"},
            )
            assert answer.status_code == 302, answer.text
            home = browser.get("/", follow_redirects=True)
            assert home.status_code == 200
            assert f"Hello, {holder['name'].split()[0]}" in home.text
            me = browser.get("/api/v1/me/")
            assert me.status_code == 200 and me.json()["user_id"] == holder["user_id"]
        sessions = live.shell(
            "from cis.signin.models import SignInSession\n"
            f"s = SignInSession.objects.filter(person__user_id='{holder['user_id']}')"
            ".order_by('-id').first()\nprint(s.method, s.acr)"
        )
        assert sessions.split()[-2:] == ["tls_client_cert", "AAL3"]
        # Both cis serve processes behind the upstream answer.
        access = (folder / "access.log").read_text()
        assert access.count("\n") >= 6
    finally:
        if nginx is not None:
            nginx.send_signal(signal.SIGQUIT)
            nginx.wait(timeout=30)
        if second is not None:
            os.killpg(second.pid, signal.SIGTERM)
            second.wait(timeout=30)
        live.close()
