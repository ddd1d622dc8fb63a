"""pkilint, run exactly as its command-line tools run, on what the CA produces.

Every certificate, CRL and OCSP response a test makes is collected (see conftest) and linted
with `lint_pkix_cert lint -s WARNING`, `lint_crl lint -t CRL -p BR -s WARNING` and
`lint_ocsp_response lint -s WARNING`. The tools' own `main` is called in-process, which is the
same code the console scripts run, without 0.4 s of interpreter start-up per document;
test_real_clients.py also runs the installed commands themselves as subprocesses.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

from pkilint.bin import lint_crl, lint_ocsp_response, lint_pkix_cert

ARGS = {
    "cert": (lint_pkix_cert.main, ["lint", "-s", "WARNING"]),
    "crl": (lint_crl.main, ["lint", "-t", "CRL", "-p", "BR", "-s", "WARNING"]),
    "ocsp": (lint_ocsp_response.main, ["lint", "-s", "WARNING"]),
}
COMMANDS = {"cert": "lint_pkix_cert", "crl": "lint_crl", "ocsp": "lint_ocsp_response"}


def findings(kind: str, der: bytes) -> str:
    """pkilint's report at WARNING and above; empty when the document is clean."""
    main, args = ARGS[kind]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"document.{kind}.der"
        path.write_bytes(der)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main([*args, str(path)])
    report = out.getvalue().strip()
    if code != 0 and not report:
        report = f"pkilint exited {code}"
    return report
