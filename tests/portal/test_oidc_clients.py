"""The service desk's clinical systems pages: register an OIDC client, rotate its secret (shown
once), retire it; audited, and refused to everyone else with nothing changed."""

from __future__ import annotations

import pytest
from django.test import Client
from oauth2_provider.models import Application

from cis.audit.models import AuditEvent
from cis.oidc.clients import check_client_secret
from cis.oidc.models import RetiredClient
from tests.api.conftest import World, unchanged_database
from tests.api.conftest import world as api_world  # noqa: F401 - the directory the API tests use

pytestmark = pytest.mark.django_db

BACKEND = "django.contrib.auth.backends.ModelBackend"


def _as(person: object) -> Client:
    browser = Client()
    browser.force_login(person, backend=BACKEND)  # type: ignore[arg-type]
    return browser


def _register(desk: Client) -> tuple[Application, str]:
    answer = desk.post(
        "/oidc-clients/new/",
        {
            "name": "Synthetic  EHR",
            "redirect_uris": "https://ehr.example.org/cb\r\nhttps://ehr.example.org/cb2\r\n",
            "post_logout_redirect_uris": "",
        },
    )
    assert answer.status_code == 200, answer.content[:2000]
    assert answer["Cache-Control"] == "no-store"
    application = Application.objects.get(name="Synthetic EHR")
    secret = answer.context["client_secret"]
    assert secret in answer.content.decode()
    assert application.client_id in answer.content.decode()
    return application, secret


def test_the_service_desk_registers_a_client_and_sees_its_secret_once(
    api_world: World,  # noqa: F811
) -> None:
    desk = _as(api_world.desk)
    assert "Clinical systems" in desk.get("/").content.decode()
    application, secret = _register(desk)
    assert application.redirect_uris.split() == [
        "https://ehr.example.org/cb",
        "https://ehr.example.org/cb2",
    ]
    assert check_client_secret(secret, application.client_secret)
    assert secret not in application.client_secret  # only its hash is kept
    event = AuditEvent.objects.get(action="oidc_client.manage", after__step="registered")
    assert (event.actor_ref, event.target_ref) == (api_world.desk.user_id, application.client_id)
    assert secret not in str(event.after)
    # Listed by name; its page never shows a secret again.
    listing = desk.get("/oidc-clients/").content.decode()
    assert "Synthetic EHR" in listing and application.client_id in listing
    page = desk.get(f"/oidc-clients/{application.client_id}/").content.decode()
    assert "https://ehr.example.org/cb2" in page and secret not in page


def test_rotating_shows_a_new_secret_once_and_the_old_one_stops_working(
    api_world: World,  # noqa: F811
) -> None:
    desk = _as(api_world.desk)
    application, old = _register(desk)
    assert desk.get(f"/oidc-clients/{application.client_id}/rotate-secret/").status_code == 200
    answer = desk.post(f"/oidc-clients/{application.client_id}/rotate-secret/", {})
    assert answer.status_code == 200 and answer["Cache-Control"] == "no-store"
    new = answer.context["client_secret"]
    assert new != old and new in answer.content.decode()
    application.refresh_from_db()
    assert check_client_secret(new, application.client_secret)
    assert not check_client_secret(old, application.client_secret)
    assert (
        AuditEvent.objects.filter(action="oidc_client.manage", after__step="secret_rotated").count()
        == 1
    )


def test_retiring_needs_a_reason_and_is_for_good(api_world: World) -> None:  # noqa: F811
    desk = _as(api_world.desk)
    application, _ = _register(desk)
    path = f"/oidc-clients/{application.client_id}/retire/"
    with unchanged_database():
        blank = desk.post(path, {"reason": "  "})
    assert blank.status_code == 200
    assert "Say why the clinical system is being retired" in blank.content.decode()
    assert Application.objects.filter(pk=application.pk).exists()
    done = desk.post(path, {"reason": "Replaced by the new EHR"})
    assert done.status_code == 302 and done["Location"] == "/oidc-clients/"
    assert not Application.objects.filter(client_id=application.client_id).exists()
    retired = RetiredClient.objects.get(client_id=application.client_id)
    assert retired.reason == "Replaced by the new EHR"
    assert "Replaced by the new EHR" in desk.get("/oidc-clients/").content.decode()
    assert desk.get(f"/oidc-clients/{application.client_id}/").status_code == 404
    assert (
        AuditEvent.objects.filter(action="oidc_client.manage", after__step="retired").count() == 1
    )


def test_a_redirect_uri_that_is_not_https_is_refused_on_the_form(
    api_world: World,  # noqa: F811
) -> None:
    desk = _as(api_world.desk)
    with unchanged_database():
        answer = desk.post(
            "/oidc-clients/new/", {"name": "Plain", "redirect_uris": "http://ehr.example.org/cb"}
        )
    assert answer.status_code == 200
    assert answer.context["form"].errors["redirect_uris"]
    assert not Application.objects.exists()


@pytest.mark.parametrize("who", ["manager", "agent", "holder"])
def test_nobody_but_the_service_desk_reaches_the_pages(
    api_world: World,  # noqa: F811
    who: str,
) -> None:
    desk = _as(api_world.desk)
    application, _ = _register(desk)
    other = _as(getattr(api_world, who))
    with unchanged_database():
        for path in (
            "/oidc-clients/",
            "/oidc-clients/new/",
            f"/oidc-clients/{application.client_id}/",
            f"/oidc-clients/{application.client_id}/rotate-secret/",
        ):
            assert other.get(path).status_code == 403, path
        assert (
            other.post(
                f"/oidc-clients/{application.client_id}/retire/", {"reason": "x"}
            ).status_code
            == 403
        )
        assert (
            other.post(f"/oidc-clients/{application.client_id}/rotate-secret/", {}).status_code
            == 403
        )
    assert "Clinical systems" not in other.get("/").content.decode()
