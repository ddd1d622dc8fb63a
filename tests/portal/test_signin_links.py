"""The portal leads to the sign-in pages: one's own sign-ins, security keys, and an admin's view."""

from __future__ import annotations

from collections.abc import Callable

from django.test import Client

from cis.people.models import Person

from .conftest import World


def test_everyone_is_offered_their_sign_ins_and_security_keys(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    page = sign_in(world.holder).get("/").content.decode()
    assert 'href="/signin/sessions/"' in page
    assert 'href="/signin/authenticators/"' in page


def test_an_lsa_may_end_the_sign_ins_of_someone_in_scope_only(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    browser = sign_in(world.lsa)
    page = browser.get(f"/people/{world.holder.user_id}/").content.decode()
    assert f'href="/signin/people/{world.holder.user_id}/sessions/"' in page
    colleague_view = sign_in(world.holder).get(f"/people/{world.colleague.user_id}/")
    assert colleague_view.status_code == 404
