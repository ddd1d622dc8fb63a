"""Smartcard settings, with the defaults DESIGN §3 and §5 give, overridable in Django settings."""

from __future__ import annotations

import datetime as dt

from django.conf import settings


def passcode_lengths() -> tuple[int, int]:
    return (
        int(getattr(settings, "CIS_PASSCODE_MIN_LENGTH", 4)),
        int(getattr(settings, "CIS_PASSCODE_MAX_LENGTH", 8)),
    )


def renewal_window() -> dt.timedelta:
    return dt.timedelta(days=int(getattr(settings, "CIS_RENEWAL_WINDOW_DAYS", 90)))


def operation_lifetime() -> dt.timedelta:
    """How long an agent has to finish a step it started (the SO PIN is out for this long)."""
    return dt.timedelta(minutes=int(getattr(settings, "CIS_CARD_OPERATION_MINUTES", 15)))


def agent_token_lifetime() -> dt.timedelta:
    return dt.timedelta(minutes=int(getattr(settings, "CIS_AGENT_TOKEN_MINUTES", 30)))


# SO PINs released but not yet confirmed as rotated; a card allows only a few wrong SO PINs.
MAX_UNCONFIRMED_SO_PINS = 3
SO_PIN_DIGITS = 8
