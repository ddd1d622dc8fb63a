"""Run the example: `python -m examples.prescribing [--server URL] [--port 8001]`.

On first run it registers itself with CIS (`cis oidc add-client`, which needs the server's
environment: run it on the CIS machine) and keeps the client id and secret in
$CIS_DATA_DIR/prescribing-client.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from wsgiref.simple_server import make_server

from .app import PrescribingApp, Settings


def _client(data_dir: Path, base_url: str) -> dict[str, str]:
    path = data_dir / "prescribing-client.json"
    if path.exists():
        saved: dict[str, str] = json.loads(path.read_text())
        return saved
    cis = Path(sys.executable).with_name("cis")
    out = subprocess.run(  # noqa: S603 - our own command, fixed arguments
        [
            str(cis),
            "oidc",
            "add-client",
            "--name",
            "Prescribing (example)",
            "--redirect-uri",
            f"{base_url}/callback",
            "--post-logout-redirect-uri",
            f"{base_url}/signed-out",
            "--backchannel-logout-uri",
            f"{base_url}/backchannel-logout",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    created: dict[str, str] = json.loads(out)
    path.write_text(json.dumps(created))
    path.chmod(0o600)
    return created


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", default=os.environ.get("CIS_BASE_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    base_url = f"http://127.0.0.1:{args.port}"
    client = _client(Path(os.environ.get("CIS_DATA_DIR", "./var")), base_url)
    app = PrescribingApp(
        Settings(
            issuer=args.server.rstrip("/"),
            client_id=client["client_id"],
            client_secret=client["client_secret"],
            base_url=base_url,
        )
    )
    print(f"Prescribing example at {base_url} (signing in through {args.server})")  # noqa: T201
    with make_server("127.0.0.1", args.port, app) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
