"""One typed schema per type of request: the fields it takes in and the payload it keeps.

Each request type's fields are declared once, here. `INPUT` names what a caller may send (the
API's body, the portal's form), with `?` marking the optional ones; the dataclass's own fields
are the checked payload that is stored, applied and shown. `cis.workflow.payloads` reads input
into these, `cis.workflow.services` stores `to_json()`, `cis.workflow.apply` applies
`load(request)`, and the API's description and the portal's forms are held to `INPUT`
(tests/workflow/test_schemas.py). A stored payload keeps the JSON shape it has always had, so
rows written before these schemas existed load unchanged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, ClassVar, TypeVar, get_type_hints

from .models import Request
from .states import RequestType

Json = dict[str, Any]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Payload:
    """The checked payload of one type of request."""

    TYPES: ClassVar[tuple[RequestType, ...]] = ()
    # What a caller may send: names, `?` after the optional ones.
    INPUT: ClassVar[tuple[str, ...]] = ()
    # Words after the field list in the API's description (choices, who may ask).
    HELP: ClassVar[str] = ""
    # Stored only when set (None leaves the key out, as payloads always have).
    OMIT_IF_NONE: ClassVar[frozenset[str]] = frozenset()

    user_id: str = ""

    @classmethod
    def accepts(cls) -> frozenset[str]:
        return frozenset(name.rstrip("?") for name in cls.INPUT)

    @classmethod
    def describe(cls) -> str:
        names = ", ".join(t.value for t in cls.TYPES)
        return f"{names}: {', '.join(cls.INPUT)}{' ' + cls.HELP if cls.HELP else ''}."

    def to_json(self) -> Json:
        """The payload as stored in Request.payload (dates as YYYY-MM-DD)."""
        out: Json = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None and f.name in self.OMIT_IF_NONE:
                continue
            out[f.name] = value.isoformat() if isinstance(value, dt.date) else value
        return out

    @classmethod
    def from_json(cls: type[P], data: Json) -> P:
        """A stored payload as its schema: keys it does not know are left out."""
        dates = _date_fields(cls)
        values: Json = {}
        for f in dataclasses.fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            if f.name in dates and isinstance(value, str):
                value = dt.date.fromisoformat(value) if value else None
            values[f.name] = value
        return cls(**values)


P = TypeVar("P", bound=Payload)


_DATES: dict[type[Payload], frozenset[str]] = {}


def _date_fields(cls: type[Payload]) -> frozenset[str]:
    """The fields typed as dates (stored as YYYY-MM-DD), read once per schema."""
    if cls not in _DATES:
        hints = get_type_hints(cls)
        _DATES[cls] = frozenset(
            name
            for name, hint in hints.items()
            if hint is dt.date or dt.date in getattr(hint, "__args__", ())
        )
    return _DATES[cls]


@dataclasses.dataclass(frozen=True, kw_only=True)
class PersonRegister(Payload):
    TYPES = (RequestType.PERSON_REGISTER,)
    INPUT = (
        "ods_code",
        "given_name",
        "family_name",
        "date_of_birth",
        "email?",
        "mobile?",
        "professional_body?",
        "professional_number?",
        "position_id?",
    )
    OMIT_IF_NONE = frozenset({"position_id", "position_name"})

    user_id: str = ""  # none yet: the person is made when the request is approved
    ods_code: str
    given_name: str
    family_name: str
    date_of_birth: dt.date
    email: str = ""
    mobile: str = ""
    professional_body: str = ""
    professional_number: str = ""
    position_id: int | None = None
    position_name: str | None = None

    def to_json(self) -> Json:
        out = super().to_json()
        out.pop("user_id", None)
        return out


@dataclasses.dataclass(frozen=True, kw_only=True)
class CardIssue(Payload):
    TYPES = (RequestType.CARD_ISSUE,)
    INPUT = ("user_id", "ods_code?")


@dataclasses.dataclass(frozen=True, kw_only=True)
class CardReplace(Payload):
    TYPES = (RequestType.CARD_REPLACE,)
    INPUT = ("user_id", "reason", "card_serial?", "ods_code?")
    HELP = "(reason: lost, stolen, damaged, faulty or name_change)"

    reason: str = ""
    card_serial: str = ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class CardRenew(Payload):
    TYPES = (RequestType.CARD_RENEW,)
    INPUT = ("user_id", "card_serial?", "ods_code?")

    card_serial: str = ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class PositionAdd(Payload):
    TYPES = (RequestType.POSITION_ADD,)
    INPUT = ("user_id", "position_id", "start_date?", "end_date?")

    position_id: int
    position_name: str = ""
    start_date: dt.date | None = None
    end_date: dt.date | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class PositionEnd(Payload):
    TYPES = (RequestType.POSITION_END,)
    INPUT = ("assignment_id", "end_date?")

    assignment_id: int
    position_name: str = ""
    end_date: dt.date | None = None


# The details a change of details may correct, in the order they are shown and summarised.
DETAIL_FIELDS = (
    "given_name",
    "family_name",
    "date_of_birth",
    "professional_body",
    "professional_number",
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class DetailsChange(Payload):
    """Only what changes is kept (None: unchanged), with the values it replaces in `before`."""

    TYPES = (RequestType.DETAILS_CHANGE,)
    INPUT = ("user_id", *(f"{name}?" for name in DETAIL_FIELDS), "evidence?", "ods_code?")
    HELP = "(at least one detail; evidence, a document type, for a change of name)"
    OMIT_IF_NONE = frozenset({*DETAIL_FIELDS, "evidence"})

    given_name: str | None = None
    family_name: str | None = None
    date_of_birth: dt.date | None = None
    professional_body: str | None = None
    professional_number: str | None = None
    evidence: str | None = None
    before: dict[str, str | None] = dataclasses.field(default_factory=dict)

    def changed(self) -> list[str]:
        """The details this request changes, in DETAIL_FIELDS order."""
        return [name for name in DETAIL_FIELDS if getattr(self, name) is not None]


@dataclasses.dataclass(frozen=True, kw_only=True)
class ProfileChange(Payload):
    TYPES = (RequestType.PROFILE_CLOSE, RequestType.PROFILE_REOPEN)
    INPUT = ("user_id", "reason", "ods_code?")

    reason: str = ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class RightGrantPayload(Payload):
    """Scoped to one organisation (ods_code, include_children) or to one RA's area (ra_code)."""

    TYPES = (RequestType.RIGHT_GRANT,)
    INPUT = ("user_id", "right", "ods_code?", "include_children?", "ra_code?")
    HELP = "(RA Manager; ods_code and include_children, or ra_code)"
    OMIT_IF_NONE = frozenset({"ods_code", "include_children", "ra_code"})

    right: str
    ods_code: str | None = None
    include_children: bool | None = None
    ra_code: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class RightRevokePayload(Payload):
    TYPES = (RequestType.RIGHT_REVOKE,)
    INPUT = ("grant_id", "reason")
    HELP = "(RA Manager)"

    grant_id: int
    right: str = ""
    scope: str = ""
    reason: str = ""


SCHEMAS: dict[str, type[Payload]] = {
    request_type: schema
    for schema in (
        PersonRegister,
        CardIssue,
        CardReplace,
        CardRenew,
        PositionAdd,
        PositionEnd,
        DetailsChange,
        ProfileChange,
        RightGrantPayload,
        RightRevokePayload,
    )
    for request_type in schema.TYPES
}

# The API's description of the payload, made from the schemas so that it cannot drift.
PAYLOAD_HELP = "The fields for the type (? marks an optional one). " + " ".join(
    schema.describe() for schema in dict.fromkeys(SCHEMAS.values())
)


def load(request: Request, schema: type[P]) -> P:
    """A request's stored payload as its type's schema (`schema` names the one expected)."""
    expected = SCHEMAS[request.request_type]
    if expected is not schema:
        raise TypeError(f"a {request.request_type} request's payload is a {expected.__name__}")
    return schema.from_json(request.payload)
