"""CIS as a deployment runs it: `cis serve` in a process of its own, for tests over real HTTP.

Django's test client skips what every real client meets (CSRF, gunicorn, headers, the network),
so every HTTP endpoint has at least one test through this. `LiveCis` owns a data directory and a
database of its own (an SQLite file, or a fresh PostgreSQL database on the server `DATABASE_URL`
names), runs `cis` commands against them, and serves them with the production command.

Fixtures (registered in tests/conftest.py):
- `live_cis`: a migrated, empty database with a certificate authority, served; one per test.
- `live_demo`: the demo world (`cis demo --no-serve`), served; one per test module, so tests in
  a module share it (and what they change in it).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

CIS = str(Path(sys.executable).with_name("cis"))
DEMO_SETTINGS = "cis.config.settings.demo"
START_SECONDS = 300


def ocsp_request(http: httpx.Client, pem: str) -> bytes:
    """The DER OCSP request an outside client makes for a certificate, its issuer found in the
    chain the server publishes (`/pki/ca.pem`), with RFC 5019's SHA-1 CertID."""
    cert = x509.load_pem_x509_certificate(pem.encode())
    chain = x509.load_pem_x509_certificates(http.get("/pki/ca.pem").content)
    issuer = next(c for c in chain if c.subject == cert.issuer)
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1())  # noqa: S303
    return builder.build().public_bytes(serialization.Encoding.DER)


def ocsp_answer(http: httpx.Client, request: bytes) -> ocsp.OCSPResponse:
    """The server's OCSP answer to a request, POSTed as RFC 6960 says."""
    got = http.post(
        "/pki/ocsp", content=request, headers={"Content-Type": "application/ocsp-request"}
    )
    assert got.status_code == 200, got.status_code
    return ocsp.load_der_ocsp_response(got.content)


def free_port() -> int:
    """A port nothing listens on now (the kernel's choice), for a server the test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _PostgresDatabase:
    """A database of its own on the PostgreSQL server the suite runs against, dropped after."""

    def __init__(self, server_url: str) -> None:
        parts = urlsplit(server_url)
        self.name = f"cis_live_{secrets.token_hex(6)}"
        self._admin = urlunsplit(parts._replace(path="/postgres"))
        self.url = urlunsplit(parts._replace(path=f"/{self.name}"))
        with psycopg.connect(self._admin, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        with psycopg.connect(self._admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class LiveCis:
    """One installation: a data directory, a database, and (once started) `cis serve` over it."""

    def __init__(
        self,
        data_dir: Path,
        *,
        settings_module: str = DEMO_SETTINGS,
        extra_env: Mapping[str, str] | None = None,
        database_url: str | None = None,
        log_name: str = "serve.log",
    ) -> None:
        """With `database_url`, the installation uses that database (another installation's,
        for a second server over the same data) and leaves it in place when closed."""
        self.data_dir = data_dir
        self.settings_module = settings_module
        self.extra_env = dict(extra_env or {})
        suite_database = os.environ.get("DATABASE_URL", "")
        self._postgres = (
            _PostgresDatabase(suite_database)
            if database_url is None and suite_database.startswith("postgres")
            else None
        )
        self.database_url = database_url or (
            self._postgres.url if self._postgres else f"sqlite:///{data_dir / 'cis.sqlite3'}"
        )
        # Chosen now, so that URLs written before the server starts (CRL, OCSP) point at it.
        self.port = free_port()
        self.process: subprocess.Popen[str] | None = None
        self._log = data_dir / log_name

    # The installation's environment, as an operator would set it.

    @property
    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CIS_", "DJANGO_", "PYTEST_")) and k != "DATABASE_URL"
        }
        env.update(
            CIS_DATA_DIR=str(self.data_dir),
            DATABASE_URL=self.database_url,
            DJANGO_SETTINGS_MODULE=self.settings_module,
            CIS_LOG_LEVEL="WARNING",
        )
        env["CIS_BASE_URL"] = self.url
        env.update(self.extra_env)
        return env

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cis(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        """Run `cis ARGS` against this installation; with check, fail the test if it fails."""
        result = subprocess.run(  # noqa: S603 - our own script, arguments from the test
            [CIS, *args],
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            said = result.stdout + result.stderr
            pytest.fail(f"cis {' '.join(args)} exited {result.returncode}:\n{said}")
        return result

    def shell(self, code: str) -> str:
        """Run Python in `cis shell` against this installation and return what it printed."""
        return self.cis("shell", "-c", code).stdout

    def migrate(self) -> None:
        self.cis("migrate", "--no-input", "-v", "0")

    def init_ca(self) -> None:
        self.cis("ca", "init")

    def load_demo(self) -> None:
        self.cis("demo", "--no-serve", timeout=900)

    @property
    def personas(self) -> list[dict[str, Any]]:
        """The demo's personas file: name, role, user_id, card SPEC and passcode of each."""
        data = json.loads((self.data_dir / "demo-personas.json").read_text())
        return list(data["personas"] if isinstance(data, dict) else data)

    def persona(self, name: str) -> dict[str, Any]:
        """A persona by its name (such as "Jack Pearson") or its role (such as "RA Agent")."""
        for record in self.personas:
            if name in (record.get("name"), record.get("role")):
                return record
        raise KeyError(name)

    # The server.

    def start(self, *, workers: int = 1, args: tuple[str, ...] = ()) -> str:
        """`cis serve` on a free port; returns its URL once /healthz answers."""
        if self.process is not None:
            raise RuntimeError("cis serve is already running")
        log = self._log.open("a")
        self.process = subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
            [CIS, "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(workers), *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.output()
                self.process = None
                pytest.fail(f"cis serve exited early:\n{output}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code < 500:
                    return self.url
            except httpx.TransportError:
                pass
            time.sleep(0.2)  # waiting for the server to listen, not timing anything
        self.stop()
        pytest.fail(f"cis serve did not answer /healthz in {START_SECONDS} s:\n{self.output()}")

    def output(self) -> str:
        """What `cis serve` has printed so far (gunicorn's log and any traceback)."""
        return self._log.read_text() if self._log.exists() else ""

    def signal(self, signum: int) -> None:
        """Send a signal to the whole server (gunicorn's master and its workers)."""
        if self.process is not None:
            os.killpg(self.process.pid, signum)

    def stop(self) -> None:
        """Stop the server gracefully (SIGTERM), or kill it if it does not stop."""
        if self.process is None:
            return
        try:
            self.signal(signal.SIGTERM)
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait()
        except ProcessLookupError:
            self.process.wait()
        self.process = None

    def restart(self, **kwargs: Any) -> str:
        self.stop()
        return self.start(**kwargs)

    def close(self) -> None:
        self.stop()
        if self._postgres is not None:
            self._postgres.drop()

    # Clients.

    def client(self, **kwargs: Any) -> httpx.Client:
        """An httpx client for this server (cookies kept, redirects not followed)."""
        return httpx.Client(base_url=self.url, timeout=kwargs.pop("timeout", 30), **kwargs)

    @contextmanager
    def signed_in(self, user_id: str) -> Iterator[httpx.Client]:
        """A client signed in through the demo's persona sign-in form, as a browser would be.

        The form's CSRF token is posted with the form, and the CSRF cookie's value is sent as
        `X-CSRFToken` on every later request, as the portal's and the API's unsafe methods need.
        """
        with self.client() as client:
            yield self._persona_sign_in(client, user_id)

    def _persona_sign_in(self, client: httpx.Client, user_id: str) -> httpx.Client:
        form = client.get("/sign-in/demo/")
        if form.status_code != 200:
            pytest.fail(f"persona sign-in page answered {form.status_code}")
        token = client.cookies["csrftoken"]
        answer = client.post(
            "/sign-in/demo/", data={"user_id": user_id, "csrfmiddlewaretoken": token}
        )
        if answer.status_code != 302:
            pytest.fail(f"persona sign-in as {user_id} answered {answer.status_code}")
        client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
        return client


@pytest.fixture
def live_cis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCis]:
    """An empty, migrated installation with its certificate authority, served by `cis serve`."""
    live = LiveCis(tmp_path_factory.mktemp("cis-live"))
    try:
        live.migrate()
        live.init_ca()
        live.start()
        yield live
    finally:
        live.close()


@pytest.fixture(scope="module")
def live_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCis]:
    """The demo world, served by `cis serve`; shared by the tests of one module."""
    live = LiveCis(tmp_path_factory.mktemp("cis-live-demo"))
    try:
        live.load_demo()
        live.start()
        yield live
    finally:
        live.close()
