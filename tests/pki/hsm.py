"""SoftHSM2 tokens for the CA's tests: a token directory of our own, a token per use.

SoftHSM reads its token directory when the module is first loaded in a process, so before that
tokens are made with softhsm2-util, and after it with C_InitToken on SoftHSM's free slot through
the already-loaded module, followed by C_InitPIN, exactly what softhsm2-util does itself.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pkcs11

MODULE = os.environ.get("CIS_TEST_SOFTHSM_MODULE", "/usr/lib/softhsm/libsofthsm2.so")


@dataclass(frozen=True)
class Token:
    module: str
    label: str
    pin: str
    so_pin: str


def available() -> bool:
    return Path(MODULE).exists() and shutil.which("softhsm2-util") is not None


def ensure_config(base: Path) -> None:
    if MODULE in pkcs11._loaded or os.environ.get("SOFTHSM2_CONF"):
        return
    tokens = base / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = base / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    os.environ["SOFTHSM2_CONF"] = str(conf)


def new_token() -> Token:
    label = f"cis-ca-{secrets.token_hex(4)}"
    pin, so_pin = secrets.token_hex(6), secrets.token_hex(6)
    if MODULE not in pkcs11._loaded:
        subprocess.run(
            ["softhsm2-util", "--init-token", "--free", "--label", label]
            + ["--pin", pin, "--so-pin", so_pin],
            check=True,
            capture_output=True,
        )
        return Token(MODULE, label, pin, so_pin)
    lib = pkcs11.lib(MODULE)
    free = [
        slot
        for slot in lib.get_slots()
        if not slot.get_token().flags & pkcs11.TokenFlag.TOKEN_INITIALIZED
    ]
    if not free:
        raise RuntimeError("SoftHSM offers no free slot")
    module = ctypes.CDLL(MODULE)
    so = so_pin.encode()
    rv = module.C_InitToken(
        ctypes.c_ulong(free[0].slot_id),
        ctypes.c_char_p(so),
        ctypes.c_ulong(len(so)),
        ctypes.c_char_p(label.encode().ljust(32, b" ")),
    )
    if rv != 0:
        raise RuntimeError(f"C_InitToken failed with CKR 0x{rv:x}")
    with lib.get_token(token_label=label).open(rw=True, so_pin=so_pin) as session:
        session.init_pin(pin)
    return Token(MODULE, label, pin, so_pin)
