"""The loop end to end on a real uvicorn server and a real database (SQLite and PostgreSQL).

A slot is created, feedback events are posted, the in-process worker runs a GEPA
round through the fake OpenAI server, the better version is promoted, and a
rollback puts the old one back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from servers import PROVIDER_KEY, wait_for
from world import SLOT, event

from paretext.report import load

pytestmark = pytest.mark.slow


def _finished_round(client: Any, slot: str = "support") -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        rounds = client.get(f"/v1/slots/{slot}/rounds").json()["rounds"]
        return next((r for r in rounds if r["status"] != "running"), None)

    return wait_for(done, 90, "a finished round")  # type: ignore[no-any-return]


def test_round_promotes_a_better_version_and_rollback(service_factory: Any) -> None:
    service = service_factory(inline_worker=True)
    token = service.tenant("acme")
    with service.client(token) as c:
        r = c.post("/v1/slots", json=SLOT)
        assert r.status_code == 201, r.text
        assert r.json()["aliases"] == {"production": 1}
        prompt = c.get("/v1/slots/support/prompt").json()
        assert (prompt["version"], prompt["components"]) == (1, {"system": "Solve it."})
        for i in range(24):
            r = c.post("/v1/slots/support/events", json=event(i, version=1))
            assert r.status_code == 201, r.text
        # Re-sending an event with the same id stores nothing new (a client retry).
        again = c.post("/v1/slots/support/events", json=event(0, version=1))
        assert again.status_code == 201
        assert len(c.get("/v1/slots/support/events", params={"limit": 100}).json()["events"]) == 24

        rnd = _finished_round(c)
        assert rnd["status"] == "promoted", rnd
        # Held out: the last 6 events; "wrong" matches the two corrections ("right") 40%.
        assert rnd["scores"]["base_holdout"] == pytest.approx(2 * 0.4 / 6)
        assert rnd["scores"]["holdout"] > rnd["scores"]["base_holdout"] + 0.02
        versions = c.get("/v1/slots/support/versions").json()["versions"]
        assert [v["version"] for v in versions] == [1, 2]
        new = versions[1]
        assert new["source"] == "round" and new["parent"] == 1
        assert "RULE-" in new["components"]["system"]
        slot = c.get("/v1/slots/support").json()
        assert slot["aliases"] == {"production": 2, "previous": 1}
        assert slot["spent_today"]["rollouts"] == rnd["used_rollouts"] <= 200

        # The round is a normal run store: the report reads it.
        data = load(next(Path(service.runs).rglob("round-0001")))
        assert data.finished and data.best is not None
        assert data.candidate(data.best).components == new["components"]
        assert data.meta["service"] == {
            "slot": "support",
            "round": 1,
            "user": "",
            "base_version": 1,
        }
        html = c.get(rnd["report"])
        assert html.status_code == 200 and "<html" in html.text.lower()

        # Rollback: production back to 1, previous now 2; a second rollback undoes it.
        r = c.post("/v1/slots/support/rollback")
        assert r.status_code == 200 and r.json()["version"] == 1
        wait_for(
            lambda: c.get("/v1/slots/support/prompt").json()["version"] == 1, 5, "cache refresh"
        )
        assert c.get("/v1/slots/support").json()["aliases"] == {"production": 1, "previous": 2}
        assert c.post("/v1/slots/support/rollback").json()["version"] == 2
    # The provider key reached the fake server but never the service's output.
    assert PROVIDER_KEY not in service.logs()


def test_personalized_versions_fall_back_to_shared(service_factory: Any) -> None:
    service = service_factory(inline_worker=True)
    token = service.tenant("acme")
    # The shared version never has enough new events for a round here; alice does.
    policy = {**SLOT["policy"], "personalize": True, "user_min_events": 12, "min_new_events": 1000}
    slot = {**SLOT, "policy": policy}
    with service.client(token) as c:
        assert c.post("/v1/slots", json=slot).status_code == 201
        # Alice only asks about three categories: rules for those generalize to her held-out.
        batch = [event(i, user="alice", categories=3) for i in range(12)]
        assert c.post("/v1/slots/support/events/batch", json={"events": batch}).status_code == 201

        def alice_has_own() -> bool:
            rounds = c.get("/v1/slots/support/rounds").json()["rounds"]
            return any(r["user"] == "alice" and r["status"] != "running" for r in rounds)

        wait_for(alice_has_own, 90, "alice's round")
        rounds = c.get("/v1/slots/support/rounds").json()["rounds"]
        alice = next(r for r in rounds if r["user"] == "alice")
        assert alice["status"] == "promoted", alice
        mine = c.get("/v1/slots/support/prompt", params={"user": "alice"}).json()
        assert mine["user"] == "alice" and "RULE-" in mine["components"]["system"]
        # Bob has no feedback yet: he gets the shared production version.
        bob = c.get("/v1/slots/support/prompt", params={"user": "bob"}).json()
        assert bob["user"] is None
        assert (bob["version"], bob["components"]) == (1, SLOT["components"])
        aliases = c.get("/v1/slots/support").json()
        assert aliases["aliases"] == {"production": 1}
        assert aliases["user_aliases"] == {"alice": {"production": mine["version"], "previous": 1}}
        # A rollback for alice only touches alice.
        assert c.post("/v1/slots/support/rollback", params={"user": "alice"}).json()["version"] == 1
