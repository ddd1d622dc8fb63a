"""Smartcard settings (declared once, with the defaults DESIGN §3 and §5 give, in the settings)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings


def passcode_lengths() -> tuple[int, int]:
    return (
        int(settings.CIS_PASSCODE_MIN_LENGTH),
        int(settings.CIS_PASSCODE_MAX_LENGTH),
    )


def renewal_window() -> dt.timedelta:
    return dt.timedelta(days=int(settings.CIS_RENEWAL_WINDOW_DAYS))


def operation_lifetime() -> dt.timedelta:
    """How long an agent has to finish a step it started (the SO PIN is out for this long)."""
    return dt.timedelta(minutes=int(settings.CIS_CARD_OPERATION_MINUTES))


def agent_token_lifetime() -> dt.timedelta:
    return dt.timedelta(minutes=int(settings.CIS_AGENT_TOKEN_MINUTES))


# SO PINs released but not yet confirmed as rotated; a card allows only a few wrong SO PINs.
MAX_UNCONFIRMED_SO_PINS = 3
SO_PIN_DIGITS = 8
