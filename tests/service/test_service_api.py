"""The API's guarantees on a real server and database: isolation, validation, clear errors."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from servers import ADMIN, PROVIDER_KEY, wait_for
from world import SLOT, event

pytestmark = pytest.mark.slow


def _error(r: httpx2.Response, status: int) -> str:
    assert r.status_code == status, r.text
    body = r.json()["error"]
    assert set(body) >= {"code", "message"}
    return str(body["message"])


@pytest.fixture
def api(service_factory: Any) -> Any:
    # No worker: these tests look at what is stored, not at rounds.
    return service_factory(inline_worker=False)


def test_tenants_never_see_each_other(api: Any) -> None:
    acme, globex = api.tenant("acme"), api.tenant("globex")
    with api.client(acme) as a, api.client(globex) as g:
        assert a.post("/v1/slots", json=SLOT).status_code == 201
        assert a.post("/v1/slots/support/events", json=event(1)).status_code == 201
        # The same slot name is free in another tenant, and holds other data there.
        other = {**SLOT, "components": {"system": "Globex's own prompt."}}
        assert g.post("/v1/slots", json=other).status_code == 201
        assert g.get("/v1/slots/support/prompt").json()["components"] == other["components"]
        assert a.get("/v1/slots/support/prompt").json()["components"] == SLOT["components"]
        assert g.get("/v1/slots/support/events").json()["events"] == []
        assert [s["name"] for s in g.get("/v1/slots").json()["slots"]] == ["support"]
        # Nothing of acme's is reachable by id either.
        a.post("/v1/slots/support/versions", json={"components": {"system": "v2"}})
        assert g.get("/v1/slots/support/versions/2").status_code == 404
        assert "no round" in _error(g.get("/v1/rounds/1/report"), 404)
        g.post("/v1/slots/support/rollback")
        assert a.get("/v1/slots/support/versions").json()["versions"][-1]["version"] == 2


def test_tokens_are_checked_and_stored_hashed(api: Any) -> None:
    token = api.tenant("acme")
    with api.client() as anonymous, api.client("pt_wrong") as wrong:
        assert "missing API token" in _error(anonymous.get("/v1/slots"), 401)
        assert "not valid" in _error(wrong.get("/v1/slots"), 401)
        assert "not valid" in _error(wrong.post("/v1/slots", json=SLOT), 401)
        assert "admin token" in _error(wrong.post("/v1/tenants", json={"name": "x"}), 401)
    with api.client(ADMIN) as admin:
        assert "already exists" in _error(admin.post("/v1/tenants", json={"name": "acme"}), 409)
    from sqlalchemy import create_engine, text

    from paretext.service import normalize_url

    engine = create_engine(normalize_url(api.database))
    with engine.connect() as conn:
        stored = [r[0] for r in conn.execute(text("SELECT digest FROM tokens"))]
    engine.dispose()
    assert token not in stored and len(stored) == 1 and len(stored[0]) == 64


def test_bad_input_gets_a_clear_4xx_and_stores_nothing(api: Any) -> None:
    token = api.tenant("acme")
    with api.client(token) as c:
        assert c.post("/v1/slots", json=SLOT).status_code == 201
        ok = event(1)
        cases: list[tuple[str, str, Any, int, str]] = [
            ("post", "/v1/slots/support/events", {**ok, "score": "high"}, 422, "score"),
            ("post", "/v1/slots/support/events", {**ok, "score": 1.5}, 422, "less than or equal"),
            (
                "post",
                "/v1/slots/support/events",
                {"input": "x", "output": "y"},
                422,
                "needs a signal",
            ),
            ("post", "/v1/slots/support/events", {**ok, "colour": "red"}, 422, "colour"),
            ("post", "/v1/slots/support/events", {**ok, "version": 9}, 404, "version 9"),
            ("post", "/v1/slots/nope/events", ok, 404, "no slot named 'nope'"),
            ("post", "/v1/slots/support/events", {**ok, "input": {"id": 3}}, 422, "reserved"),
            (
                "post",
                "/v1/slots/support/events/batch",
                {"events": [ok, {**ok, "thumbs": "meh"}]},
                422,
                "events.1.thumbs",
            ),
            ("post", "/v1/slots", {**SLOT, "name": "bad name!"}, 422, "name"),
            (
                "post",
                "/v1/slots",
                {**SLOT, "name": "s2", "components": {"other": "x"}},
                422,
                "not defined",
            ),
            ("post", "/v1/slots", {**SLOT, "name": "s3", "api_key": PROVIDER_KEY}, 422, "api_key"),
            ("post", "/v1/slots", SLOT, 409, "already exists"),
            ("get", "/v1/slots/nope/prompt", None, 404, "no slot named 'nope'"),
            ("get", "/v1/slots/support/prompt?alias=canary", None, 404, "no alias 'canary'"),
            ("post", "/v1/slots/support/rollback", None, 409, "nothing to roll back"),
            ("put", "/v1/slots/support/aliases/canary", {"version": 7}, 404, "no version 7"),
        ]
        for method, path, body, status, needle in cases:
            r = c.request(method, path, json=body)
            message = _error(r, status)
            assert needle in message, (path, body, message)
            assert PROVIDER_KEY not in r.text
        # A body that is not JSON, and one over the size limit (1 MiB by default).
        r = c.post(
            "/v1/slots/support/events",
            content=b"{not json",
            headers={"content-type": "application/json"},
        )
        assert "not valid JSON" in _error(r, 422)
        huge = {**ok, "output": "x" * (2 << 20)}
        assert "larger than the limit" in _error(c.post("/v1/slots/support/events", json=huge), 413)

        def chunks() -> Any:
            yield b'{"input": "a", "thumbs": true, "output": "'
            for _ in range(40):
                yield b"y" * 65536
            yield b'"}'

        streamed = c.post(
            "/v1/slots/support/events",
            content=chunks(),
            headers={"content-type": "application/json"},
        )
        assert "larger than the limit" in _error(streamed, 413)
        # Nothing of that was stored.
        assert c.get("/v1/slots/support/events").json()["events"] == []
        assert [s["name"] for s in c.get("/v1/slots").json()["slots"]] == ["support"]
        assert len(c.get("/v1/slots/support/versions").json()["versions"]) == 1
        # A template field the event lacks is refused before storing.
        fields = {
            **SLOT,
            "name": "fields",
            "program": {
                "model": "openai/rule-task",
                "steps": [{"component": "system", "template": "{question} ({topic})"}],
            },
        }
        assert c.post("/v1/slots", json=fields).status_code == 201
        r = c.post("/v1/slots/fields/events", json={**ok, "input": {"question": "q"}})
        assert "lacks fields ['topic']" in _error(r, 400)
        assert c.get("/v1/slots/fields/events").json()["events"] == []


def test_openapi_schema_is_served(api: Any) -> None:
    with api.client() as c:
        schema = c.get("/openapi.json").json()
    paths = schema["paths"]
    for path in (
        "/v1/slots",
        "/v1/slots/{name}/prompt",
        "/v1/slots/{name}/events",
        "/v1/slots/{name}/rollback",
        "/v1/slots/{name}/aliases/{alias}",
    ):
        assert path in paths
    assert "EventIn" in schema["components"]["schemas"]


def test_a_provider_key_never_reaches_the_api_or_the_log(service_factory: Any) -> None:
    # The worker is given a key the provider rejects; the provider echoes it in its error.
    wrong = "sk-wrong-" + "x" * 24
    service = service_factory(inline_worker=True, extra_env={"OPENAI_API_KEY": wrong})
    token = service.tenant("acme")
    with service.client(token) as c:
        assert c.post("/v1/slots", json=SLOT).status_code == 201
        batch = [event(i) for i in range(24)]
        assert c.post("/v1/slots/support/events/batch", json={"events": batch}).status_code == 201

        def failed_once() -> dict[str, Any] | None:
            rounds = c.get("/v1/slots/support/rounds").json()["rounds"]
            return next((r for r in rounds if r["error"]), None)

        rnd = wait_for(failed_once, 60, "the round's first failure")
        assert rnd["status"] == "running" and rnd["attempts"] == 1  # it will be retried
        every = c.get("/v1/slots/support/rounds").text + c.get("/v1/slots/support").text
    assert "401" in rnd["error"] or "key" in rnd["error"].lower(), rnd["error"]
    for secret in (wrong, PROVIDER_KEY):
        assert secret not in every and secret not in service.logs()
