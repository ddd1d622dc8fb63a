"""Signing in and out: the smartcard explanation, and the demo persona sign-in's two locks."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings as SettingsWrapper

from cis.people.models import Person, PersonStatus

from .conftest import World

pytestmark = pytest.mark.django_db

PERSONAS = "/sign-in/demo/"


def test_the_sign_in_page_explains_smartcard_sign_in(client: Client) -> None:
    html = client.get(reverse("portal:sign-in")).content.decode()
    assert "smartcard" in html
    # The command that signs a browser in (cis-agent login only signs the agent in).
    assert "cis-agent sign-in --server http://testserver --card SPEC --open" in html
    assert "cis-agent login" not in html


def test_the_sign_in_page_links_to_personas_only_in_the_demo(
    client: Client, settings: SettingsWrapper
) -> None:
    settings.CIS_DEMO_LOGIN = True
    assert PERSONAS in client.get(reverse("portal:sign-in")).content.decode()
    settings.CIS_DEMO_LOGIN = False
    assert PERSONAS not in client.get(reverse("portal:sign-in")).content.decode()


def test_the_persona_page_groups_people_by_right(world: World, client: Client) -> None:
    html = client.get(PERSONAS).content.decode()
    for heading in (
        "Local Smartcard Administrator",
        "RA Agent",
        "RA Manager",
        "Card holders without CIS rights",
    ):
        assert f'<h2 class="nhsuk-heading-m">{heading}</h2>' in html
    assert "Sign in as Hana Holder" in html
    assert "every organisation served by North RA" in html


def test_closed_people_are_not_offered_as_personas(world: World, client: Client) -> None:
    Person.objects.filter(pk=world.colleague.pk).update(status=PersonStatus.CLOSED)
    assert "Colm Colleague" not in client.get(PERSONAS).content.decode()


def test_signing_in_as_a_persona_starts_a_session(world: World, client: Client) -> None:
    response = client.post(PERSONAS, {"user_id": world.ra_agent.user_id}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("portal:home")
    assert response.context["user"] == world.ra_agent
    assert "You are signed in as Ra Agent Admin." in response.content.decode()


def test_persona_sign_in_goes_back_to_a_local_page_only(world: World, client: Client) -> None:
    response = client.post(PERSONAS, {"user_id": world.holder.user_id, "next": "/my-details/"})
    assert response["Location"] == "/my-details/"
    response = client.post(
        PERSONAS, {"user_id": world.holder.user_id, "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("portal:home")


def test_a_closed_profile_cannot_be_signed_in_as(world: World, client: Client) -> None:
    Person.objects.filter(pk=world.holder.pk).update(status=PersonStatus.CLOSED)
    assert client.post(PERSONAS, {"user_id": world.holder.user_id}).status_code == 404
    assert "_auth_user_id" not in client.session


def test_persona_sign_in_needs_the_csrf_token(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.post(PERSONAS, {"user_id": world.holder.user_id}).status_code == 403
    assert "_auth_user_id" not in client.session


def test_persona_sign_in_is_absent_when_the_demo_is_off(
    world: World, client: Client, settings: SettingsWrapper
) -> None:
    settings.CIS_DEMO_LOGIN = False
    assert client.get(PERSONAS).status_code == 404
    assert client.post(PERSONAS, {"user_id": world.ra_manager.user_id}).status_code == 404
    assert "_auth_user_id" not in client.session


def test_persona_sign_in_is_absent_under_production_settings_even_if_switched_on(
    world: World, client: Client, settings: SettingsWrapper
) -> None:
    settings.CIS_DEMO_LOGIN = True
    settings.SETTINGS_MODULE = "cis.config.settings.production"
    assert client.get(PERSONAS).status_code == 404
    assert client.post(PERSONAS, {"user_id": world.ra_manager.user_id}).status_code == 404
    assert "_auth_user_id" not in client.session
    assert PERSONAS not in client.get(reverse("portal:sign-in")).content.decode()


def test_the_production_settings_module_cannot_switch_persona_sign_in_on(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CIS_SECRET_KEY": "x" * 50,
        "CIS_DATA_DIR": str(tmp_path),
        "CIS_DEMO_LOGIN": "1",
    }
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from cis.config.settings import production as p; print(p.CIS_DEMO_LOGIN)",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"


def test_signing_out_needs_a_post(world: World, sign_in: Callable[[Person], Client]) -> None:
    client = sign_in(world.holder)
    assert client.get(reverse("portal:sign-out")).status_code == 405
    assert "_auth_user_id" in client.session
    response = client.post(reverse("portal:sign-out"))
    assert response["Location"] == reverse("portal:sign-in")
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("portal:home")).status_code == 302
