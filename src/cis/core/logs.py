"""Log records as operators need them: one JSON object a line, tagged with the request, no secrets.

Every module logs through `logging.getLogger(__name__)`; the settings' LOGGING sends every record
through the two filters here (which tag it with the request's correlation id and take out
anything that looks like a secret) to one handler, formatted as JSON (`CIS_LOG_FORMAT=json`, the
default) or as a line of text (`text`). The secret filter works on what a record would print, so
a passcode, one-time code, token or password never reaches a log, whoever wrote the call: its
value after a name such as `code=`, `"token": ` or `passcode ` is replaced, as is any
`Authorization` credential.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from typing import Any

from . import context

REDACTED = "[redacted]"

# Names whose values are secrets: exactly "code" (not ods_code), or any name ending in one of the
# rest (so_pin, client_secret, agent_token, code_verifier, new_passcode ...).
_SENSITIVE_NAMES = (
    r"(?<![\w-])(?:(?:one_time_|unlock_|auth_|authorization_)?code"
    r"|[\w-]*(?:passcode|password|passwd|secret|token|pin|ticket|otp|verifier|signature"
    r"|cookie|sessionid|api[_-]?key))(?![\w-])"
)
# name=value, name: value, "name": "value", name 'value' (quotes optional).
_NAMED_VALUE = re.compile(
    rf"""(?P<name>{_SENSITIVE_NAMES})(?P<sep>["']?\s*[:=]\s*["']?|\s+["']?)(?P<value>[^\s"'&,;)}}\]]+)""",
    re.IGNORECASE,
)
_CREDENTIAL = re.compile(r"\b(?P<scheme>[Bb]earer|[Bb]asic|BEARER|BASIC)\s+[A-Za-z0-9._~+/=-]+")
# A secret carried in a URL's path (the browser's one-time sign-in link).
_SECRET_PATH = re.compile(r"(?P<before>/(?:signin/)?ticket/)[^/\s'\"?]+")
_SENSITIVE_KEY = re.compile(rf"^{_SENSITIVE_NAMES}$", re.IGNORECASE)

# What a LogRecord carries of its own; anything else on a record came from `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "correlation_id",
    "client_address",
    "channel",
}


def redact(text: str) -> str:
    """The text with every value that follows a secret's name, and every credential, replaced."""

    def named(match: re.Match[str]) -> str:
        separator = match["sep"]
        if not separator.strip(" \t\"'") and not _looks_secret(match["value"]):
            # "code sent to", "token expired": a plain word after the name, not a value.
            return match[0]
        return f"{match['name']}{separator}{REDACTED}"

    text = _NAMED_VALUE.sub(named, text)
    text = _SECRET_PATH.sub(lambda m: f"{m['before']}{REDACTED}", text)
    return _CREDENTIAL.sub(lambda m: f"{m['scheme']} {REDACTED}", text)


def _looks_secret(value: str) -> bool:
    """A value with a digit, or long: a code, PIN or token rather than an English word."""
    return any(c.isdigit() for c in value) or len(value) >= 16


class RequestContextFilter(logging.Filter):
    """Tag every record with the request it belongs to (empty outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        bound = context.bound()
        record.correlation_id = bound.correlation_id if bound else ""
        record.client_address = bound.client_address if bound else ""
        record.channel = bound.channel if bound else ""
        return True


class RedactSecretsFilter(logging.Filter):
    """Take every secret out of a record before any handler formats it (README "Configuration")."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit the format: show both
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in _STANDARD:
                setattr(record, name, _clean(name, value))
        return True


def _clean(name: str, value: Any) -> Any:
    """An extra's value as it will be written: a number as it is, anything else as redacted text
    (a request object prints its path, which may carry a secret)."""
    if _SENSITIVE_KEY.match(name):
        return REDACTED
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(k): _clean(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(name, v) for v in value]
    return redact(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the request's ids, any extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("correlation_id", "client_address", "channel"):
            if value := getattr(record, name, ""):
                entry[name] = value
        for name, value in vars(record).items():
            if name not in _STANDARD and name not in entry:
                entry[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, default=str, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"


def logging_config(*, log_format: str, level: str) -> dict[str, Any]:
    """The settings' LOGGING: every record through the two filters to one stream handler."""
    if log_format not in ("json", "text"):
        raise ValueError(f"CIS_LOG_FORMAT must be json or text, not {log_format!r}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request": {"()": "cis.core.logs.RequestContextFilter"},
            "secrets": {"()": "cis.core.logs.RedactSecretsFilter"},
        },
        "formatters": {
            "json": {"()": "cis.core.logs.JsonFormatter"},
            "text": {"format": TEXT_FORMAT},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["request", "secrets"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        # Libraries that would log request bodies or tokens at DEBUG stay at WARNING.
        "loggers": {
            name: {"level": "WARNING"}
            for name in ("oauthlib", "oauth2_provider", "urllib3", "httpx", "httpcore")
        },
    }
