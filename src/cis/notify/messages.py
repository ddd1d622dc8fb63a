"""The words CIS sends to people, and which channel carries them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import send_mail

from .sms import sender


def send_contact_code(*, channel: str, to: str, code: str, person: Any) -> None:
    minutes = settings.CIS_OTP_LIFETIME_SECONDS // 60
    text = (
        f"Your Care Identity Service code is {code}. It confirms this {channel} for "
        f"{person.given_name} and expires in {minutes} minutes. Do not share it."
    )
    if channel == "email":
        send_mail("Confirm your email address", text, None, [to])
    else:
        sender().send(to=to, body=text)


def send_unlock_code(*, channel: str, to: str, code: str, person: Any) -> None:
    minutes = settings.CIS_OTP_LIFETIME_SECONDS // 60
    text = (
        f"Your smartcard unlock code is {code}. It expires in {minutes} minutes. "
        "If you did not ask to unlock your card, tell your Registration Authority."
    )
    if channel == "email":
        send_mail("Your smartcard unlock code", text, None, [to])
    else:
        sender().send(to=to, body=text)
