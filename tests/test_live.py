"""The shared live server: `cis serve` in its own process, reached over real HTTP."""

from __future__ import annotations

from cryptography import x509

from tests.live import LiveCis


def test_an_installation_is_served_and_shares_its_database_with_the_cis_command(
    live_cis: LiveCis,
) -> None:
    with live_cis.client() as client:
        health = client.get("/healthz")
        assert health.status_code == 200
        assert health.headers["server"].startswith("gunicorn")
        served = x509.load_pem_x509_certificates(client.get("/pki/ca.pem").content)
    chain = live_cis.data_dir / "chain.pem"
    live_cis.cis("ca", "chain", "--out", str(chain))
    assert served == x509.load_pem_x509_certificates(chain.read_bytes())


def test_the_demo_world_signs_a_persona_in_through_the_real_csrf_check(live_demo: LiveCis) -> None:
    jack = live_demo.persona("Jack Pearson")
    assert jack["card"].startswith("virtual:")
    with live_demo.signed_in(jack["user_id"]) as client:
        me = client.get("/api/v1/me/")
        assert me.status_code == 200, me.text
        assert me.json()["user_id"] == jack["user_id"]
    with live_demo.client() as anonymous:
        # Without the form's token, the same POST is refused as any browser's would be.
        refused = anonymous.post("/sign-in/demo/", data={"user_id": jack["user_id"]})
        assert refused.status_code == 403


def test_a_killed_server_can_be_started_again_on_the_same_data(live_cis: LiveCis) -> None:
    live_cis.cis("ra", "add", "--code", "RA-LV", "--name", "Live RA")
    live_cis.restart(workers=2)
    listed = live_cis.cis("ra", "list").stdout
    assert "RA-LV" in listed
    with live_cis.client() as client:
        assert client.get("/healthz").status_code == 200
