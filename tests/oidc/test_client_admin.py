"""The service desk's OIDC clients: register, rotate the secret, retire; nobody else may."""

from __future__ import annotations

import pytest
from oauth2_provider.models import Application

from cis.audit.models import AuditEvent
from cis.authz.policy import CONSOLE
from cis.core.errors import NotFound, NotPermitted, ValidationFailed
from cis.oidc.clients import (
    check_client_secret,
    oidc_client_get,
    oidc_client_register,
    oidc_client_retire,
    oidc_client_rotate_secret,
)
from cis.oidc.models import RetiredClient
from cis.rights.models import Right
from tests.factories.directory import PersonFactory, RightGrantFactory
from tests.live import LiveCis

URI = "https://ehr.example.org/callback"


@pytest.mark.django_db
def test_rotate_then_retire() -> None:
    desk = PersonFactory()
    RightGrantFactory(person=desk, right=Right.SERVICE_DESK)
    made = oidc_client_register(actor=desk, name="Synthetic EHR", redirect_uris=[URI])
    client_id = made.application.client_id
    rotated = oidc_client_rotate_secret(actor=desk, client_id=client_id)
    stored = Application.objects.get(client_id=client_id).client_secret
    assert check_client_secret(rotated.client_secret, stored)
    assert not check_client_secret(made.client_secret, stored)
    with pytest.raises(ValidationFailed):
        oidc_client_retire(actor=desk, client_id=client_id, reason=" ")
    retired = oidc_client_retire(actor=desk, client_id=client_id, reason="System replaced")
    assert retired.retired_by_name == desk.full_name
    assert not Application.objects.filter(client_id=client_id).exists()
    assert RetiredClient.objects.filter(client_id=client_id).exists()
    with pytest.raises(NotFound, match="retired"):
        oidc_client_get(actor=desk, client_id=client_id)
    events = AuditEvent.objects.filter(target_ref=client_id)
    assert {e.action for e in events} == {"oidc_client.manage"}  # the action the policy allowed
    assert sorted(e.after["step"] for e in events) == ["registered", "retired", "secret_rotated"]


@pytest.mark.django_db
def test_only_the_service_desk_manages_clients() -> None:
    made = oidc_client_register(actor=CONSOLE, name="Synthetic EHR", redirect_uris=[URI])
    manager = PersonFactory()
    RightGrantFactory(person=manager, right=Right.RA_MANAGER)
    for attempt in (
        lambda: oidc_client_rotate_secret(actor=manager, client_id=made.application.client_id),
        lambda: oidc_client_retire(actor=manager, client_id=made.application.client_id, reason="x"),
    ):
        with pytest.raises(NotPermitted):
            attempt()


@pytest.mark.django_db(transaction=True)
def test_the_service_desk_administers_clients_over_http(live_demo: LiveCis) -> None:
    desk = live_demo.persona("Sophie Brennan")["user_id"]
    with live_demo.signed_in(desk) as client:
        made = client.post(
            "/api/v1/oidc-clients/", json={"name": "Synthetic EHR", "redirect_uris": [URI]}
        )
        assert made.status_code == 201, made.text
        client_id, first = made.json()["client_id"], made.json()["client_secret"]
        listed = client.get("/api/v1/oidc-clients/").json()
        assert client_id in {c["client_id"] for c in listed}
        assert "client_secret" not in client.get(f"/api/v1/oidc-clients/{client_id}/").json()
        rotated = client.post(f"/api/v1/oidc-clients/{client_id}/rotate-secret/")
        assert rotated.status_code == 200 and rotated.json()["client_secret"] != first
        bad = client.post(f"/api/v1/oidc-clients/{client_id}/retire/", json={})
        assert bad.status_code == 400
        retired = client.post(
            f"/api/v1/oidc-clients/{client_id}/retire/", json={"reason": "Replaced"}
        )
        assert retired.status_code == 200, retired.text
        assert client.get(f"/api/v1/oidc-clients/{client_id}/").status_code == 404
    holder = live_demo.persona("Jack Pearson")["user_id"]
    with live_demo.signed_in(holder) as client:
        assert client.get("/api/v1/oidc-clients/").status_code == 403


@pytest.mark.django_db
def test_requiring_par_and_signed_requests_is_audited() -> None:
    """The PAR and request-object settings and keys change as other settings do: through
    oidc_client_update, by the service desk only, each change an audit event (before/after)."""
    from cis.oidc.clients import oidc_client_update  # noqa: PLC0415

    desk = PersonFactory()
    RightGrantFactory(person=desk, right=Right.SERVICE_DESK)
    client_id = oidc_client_register(
        actor=desk, name="EHR", redirect_uris=[URI]
    ).application.client_id
    key = {"kty": "EC", "crv": "P-256", "kid": "k1",
           "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
           "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}  # fmt: skip
    oidc_client_update(
        actor=desk,
        client_id=client_id,
        require_pushed_authorization_requests=True,
        require_signed_request_object=True,
        jwks={"keys": [key]},
    )
    [event] = AuditEvent.objects.filter(target_ref=client_id, after__step="settings_changed")
    assert event.before["require_pushed_authorization_requests"] is False
    assert event.after["require_pushed_authorization_requests"] is True
    assert event.after["require_signed_request_object"] is True
    assert event.after["jwks_key_ids"] == ["k1"]
    with pytest.raises(ValidationFailed):  # a private key is never registered
        oidc_client_update(actor=desk, client_id=client_id, jwks={"keys": [{**key, "d": "x"}]})
    manager = PersonFactory()
    RightGrantFactory(person=manager, right=Right.RA_MANAGER)
    with pytest.raises(NotPermitted):
        oidc_client_update(
            actor=manager, client_id=client_id, require_pushed_authorization_requests=False
        )


@pytest.mark.django_db
def test_requiring_dpop_is_audited() -> None:
    """dpop_bound_access_tokens (RFC 9449 §5.2) is set as the other per-client flags are: at
    registration or through oidc_client_update, by the service desk only, audited."""
    from cis.oidc.clients import oidc_client_update  # noqa: PLC0415

    desk = PersonFactory()
    RightGrantFactory(person=desk, right=Right.SERVICE_DESK)
    made = oidc_client_register(
        actor=desk, name="EHR", redirect_uris=[URI], dpop_bound_access_tokens=True
    ).application
    [registered] = AuditEvent.objects.filter(target_ref=made.client_id, after__step="registered")
    assert registered.after["dpop_bound_access_tokens"] is True
    oidc_client_update(actor=desk, client_id=made.client_id, dpop_bound_access_tokens=False)
    [event] = AuditEvent.objects.filter(target_ref=made.client_id, after__step="settings_changed")
    assert event.before["dpop_bound_access_tokens"] is True
    assert event.after["dpop_bound_access_tokens"] is False
    manager = PersonFactory()
    RightGrantFactory(person=manager, right=Right.RA_MANAGER)
    with pytest.raises(NotPermitted):
        oidc_client_update(actor=manager, client_id=made.client_id, dpop_bound_access_tokens=True)
