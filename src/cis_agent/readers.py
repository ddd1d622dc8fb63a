"""Finding the card in the reader, as `cis-agent serve` must without being told its SPEC.

A reader is `pkcs11:MODULE_PATH` (every token present in that module's slots: OpenSC for real
readers, SoftHSM2 in the tests) or `virtual:PATH` (a virtual card file, always "inserted", or a
folder whose card files are the cards inserted, so that moving a file in and out of it is
inserting and removing the card).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from cis_card.base import Card, CardError


@dataclass(frozen=True)
class Reader:
    kind: str  # "virtual" or "pkcs11"
    where: str

    @classmethod
    def parse(cls, spec: str) -> Reader:
        kind, _, where = spec.partition(":")
        if kind in ("virtual", "pkcs11") and where:
            return cls(kind, where)
        raise CardError(f"'{spec}' is not a reader: use pkcs11:MODULE_PATH or virtual:PATH.")

    def cards(self) -> list[Card]:
        if self.kind == "virtual":
            return _virtual_cards(Path(self.where))
        return _pkcs11_cards(self.where)


def _virtual_cards(path: Path) -> list[Card]:
    from cis_card.virtual import VirtualCard  # noqa: PLC0415 - load only the kind in use

    files = [path] if path.is_file() else sorted(path.glob("*")) if path.is_dir() else []
    found: list[Card] = []
    for candidate in files:
        if not candidate.is_file() or candidate.name.startswith("."):
            continue
        with contextlib.suppress(CardError, OSError):
            card = VirtualCard(candidate)
            card.serial()  # readable as a card, or not one
            found.append(card)
    return found


def _pkcs11_cards(module: str) -> list[Card]:
    import pkcs11  # noqa: PLC0415

    from cis_card.pkcs11card import Pkcs11Card  # noqa: PLC0415

    try:
        lib = pkcs11.lib(module)
        tokens = [
            slot.get_token()
            for slot in lib.get_slots(token_present=True)
            if slot.get_token().flags & pkcs11.TokenFlag.TOKEN_INITIALIZED
        ]
    except pkcs11.exceptions.PKCS11Error as exc:
        raise CardError(f"Cannot read the card readers through {module}: {exc}") from None
    return [Pkcs11Card(module, token.label) for token in tokens]


def inserted(readers: list[Reader]) -> list[Card]:
    """Every card in every reader, in a stable order."""
    cards: list[Card] = []
    for reader in readers:
        cards.extend(reader.cards())
    return cards
