"""One-time numeric codes: generated with the OS CSPRNG, stored only as keyed hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings


def new_code(digits: int = 6) -> str:
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def code_digest(code: str, *, purpose: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"{purpose}:{code}".encode(), hashlib.sha256).hexdigest()


def code_matches(code: str, digest: str, *, purpose: str) -> bool:
    return hmac.compare_digest(code_digest(code.strip(), purpose=purpose), digest)
