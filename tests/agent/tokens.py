"""Blank SoftHSM2 tokens for tests: real PKCS#11 cards, made in a token directory of our own.

SoftHSM reads its token directory when the module is first initialised in a process and does not
notice tokens that softhsm2-util adds afterwards. So the first tokens are made with softhsm2-util
(before the module is loaded), and later ones with C_InitToken on SoftHSM's free slot, called
through the same loaded module (what softhsm2-util itself does), so nobody has to re-initialise
the module under other code's open sessions.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import shutil
import subprocess
from pathlib import Path

import pkcs11

SOFTHSM_MODULE = os.environ.get("CIS_TEST_SOFTHSM_MODULE", "/usr/lib/softhsm/libsofthsm2.so")
TRANSPORT_SO_PIN = "12345678"


def softhsm_available() -> bool:
    return Path(SOFTHSM_MODULE).exists() and shutil.which("softhsm2-util") is not None


def ensure_config(base: Path) -> None:
    """Point SoftHSM at a token directory of ours, unless the module already runs on one."""
    if SOFTHSM_MODULE in pkcs11._loaded or os.environ.get("SOFTHSM2_CONF"):
        return
    tokens = base / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = base / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    os.environ["SOFTHSM2_CONF"] = str(conf)


def blank_token(label: str | None = None, *, so_pin: str = TRANSPORT_SO_PIN) -> str:
    """A new token as a card leaves the factory: transport SO PIN, no keys. Returns its label."""
    label = label or f"card-{secrets.token_hex(4)}"
    if SOFTHSM_MODULE not in pkcs11._loaded:
        subprocess.run(
            [
                "softhsm2-util",
                "--init-token",
                "--free",
                "--label",
                label,
                "--so-pin",
                so_pin,
                "--pin",
                secrets.token_hex(4),
            ],
            check=True,
            capture_output=True,
        )
        return label
    lib = pkcs11.lib(SOFTHSM_MODULE)
    free = [
        s for s in lib.get_slots() if not s.get_token().flags & pkcs11.TokenFlag.TOKEN_INITIALIZED
    ]
    if not free:
        raise RuntimeError("SoftHSM offers no free slot")
    module = ctypes.CDLL(SOFTHSM_MODULE)
    pin = so_pin.encode()
    padded = label.encode().ljust(32, b" ")
    rv = module.C_InitToken(
        ctypes.c_ulong(free[0].slot_id),
        ctypes.c_char_p(pin),
        ctypes.c_ulong(len(pin)),
        ctypes.c_char_p(padded),
    )
    if rv != 0:
        raise RuntimeError(f"C_InitToken failed with CKR 0x{rv:x}")
    return label


def spec(label: str) -> str:
    return f"pkcs11:{SOFTHSM_MODULE}:{label}"
