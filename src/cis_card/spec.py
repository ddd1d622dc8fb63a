"""Card SPECs on the command line: `virtual:PATH` or `pkcs11:MODULE_PATH:TOKEN_LABEL`."""

from __future__ import annotations

from .base import Card, CardError


def parse_spec(spec: str) -> tuple[str, str, str]:
    """(kind, path or module, token label) from a SPEC, or a CardError saying what is wrong."""
    kind, _, rest = spec.partition(":")
    if kind == "virtual" and rest:
        return "virtual", rest, ""
    if kind == "pkcs11":
        module, _, label = rest.rpartition(":")
        if module and label:
            return "pkcs11", module, label
    raise CardError(
        f"{spec!r} is not a card SPEC: use virtual:PATH or pkcs11:MODULE_PATH:TOKEN_LABEL."
    )


def open_card(spec: str) -> Card:
    kind, where, label = parse_spec(spec)
    if kind == "virtual":
        from .virtual import VirtualCard  # noqa: PLC0415 - load only the implementation asked for

        return VirtualCard(where)
    from .pkcs11card import Pkcs11Card  # noqa: PLC0415

    return Pkcs11Card(where, label)
