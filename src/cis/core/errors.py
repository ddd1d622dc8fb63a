"""The one tree of domain errors, mapped once to HTTP statuses and to portal messages."""

from __future__ import annotations

from cis_wire.errors import WRONG_CODE


class DomainError(Exception):
    """Base of every error a user can cause; the message is safe to show them."""

    http_status = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationFailed(DomainError):
    code = "validation_failed"


class WrongCode(ValidationFailed):
    """A one-time code that is not the one sent (cis.core.codes); the attempt counted."""

    code = WRONG_CODE  # the agent counts on this code (cis_wire)


class NotPermitted(DomainError):
    http_status = 403
    code = "not_permitted"


class NotFound(DomainError):
    http_status = 404
    code = "not_found"


class InvalidState(DomainError):
    http_status = 409
    code = "invalid_state"


class Conflict(DomainError):
    http_status = 409
    code = "conflict"


class RateLimited(DomainError):
    http_status = 429
    code = "rate_limited"


class ProbableDuplicate(Conflict):
    code = "probable_duplicate"

    def __init__(self, message: str, *, matches: list[str]) -> None:
        super().__init__(message)
        self.matches = matches
