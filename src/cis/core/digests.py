"""The one place secrets are turned into what CIS stores of them: digests, never the secret.

`secret_digest` is for random secrets of 128 bits or more (tokens, sign-in links, operation
secrets): SHA-256 is enough, since nobody can guess the preimage, and lookups by digest stay one
indexed equality. `keyed_digest` is for short secrets (six-digit codes), which a plain hash would
give away to anyone who read the table: HMAC-SHA256 under the installation's secret key, bound to
a purpose so a digest made for one thing never matches another.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings


def secret_digest(secret: str | bytes) -> str:
    """SHA-256 of a high-entropy secret, in hex (64 characters)."""
    data = secret.encode() if isinstance(secret, str) else secret
    return hashlib.sha256(data).hexdigest()


def keyed_digest(secret: str, *, purpose: str) -> str:
    """HMAC-SHA256 of a short secret under SECRET_KEY, for one purpose, in hex."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"{purpose}:{secret}".encode(), hashlib.sha256).hexdigest()


def digests_match(candidate: str, stored: str) -> bool:
    """Compare two digests in constant time."""
    return hmac.compare_digest(candidate, stored)
