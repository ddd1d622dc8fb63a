"""A card that leaves the reader at a chosen step, for fault tests on any card kind."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from cis_card.base import Card, CardRemoved


class PulledOut:
    """Wraps a card (and its sessions): the named call, on its `nth` use, finds no card."""

    def __init__(self, card: Card, at: str, nth: int = 1) -> None:
        self._card = card
        self._at = at
        self._left = nth
        self.pulled = False

    def _maybe_pull(self, name: str) -> None:
        if name == self._at and not self.pulled:
            self._left -= 1
            if self._left == 0:
                self.pulled = True
                raise CardRemoved(
                    "The card was removed during the operation; insert it and try again."
                )

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._card, name)
        if name == "session":
            return self._session
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self._maybe_pull(name)
            return attr(*args, **kwargs)

        return call

    @contextlib.contextmanager
    def _session(self, passcode: str) -> Iterator[Any]:
        self._maybe_pull("session")
        with self._card.session(passcode) as session:
            yield _PulledSession(self, session)


class _PulledSession:
    def __init__(self, owner: PulledOut, session: Any) -> None:
        self._owner = owner
        self._session = session

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._session, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self._owner._maybe_pull(name)
            return attr(*args, **kwargs)

        return call
