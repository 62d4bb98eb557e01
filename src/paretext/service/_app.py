"""The HTTP API (FastAPI on uvicorn).  OpenAPI at ``/openapi.json``; the web page at ``/ui``.

Every route under ``/v1`` needs ``Authorization: Bearer <tenant token>`` and only
ever sees that tenant's slots.  Errors are JSON, ``{"error": {"code", "message"}}``,
with a message that names the problem.  Store calls run in a thread; the prompt
read, the hot path, is served from an in-memory cache (see :mod:`._cache`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, MutableMapping
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from .._flight import SingleFlight
from ..errors import StoreError
from ..lm import scrub
from ._cache import ReadCache
from ._config import ServiceConfig
from ._db import connect, migrate
from ._errors import NotFound, ServiceError, Unauthorized
from ._page import login_page, slots_page
from ._records import RoundRecord, Slot, Version
from ._schemas import AliasMove, EventBatch, EventIn, SlotIn, TenantIn, VersionIn, template_fields
from ._store import PRODUCTION, ServiceStore, hash_token, utc_day
from ._worker import Worker

__all__ = ["create_app"]

log = logging.getLogger("paretext.service")
COOKIE = "paretext_session"
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimit:
    """Refuses request bodies over ``limit`` bytes (by header, or counted while streaming)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _too_large(self.limit)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise HTTPException(413, _too_large_text(self.limit))
            return message

        await self.app(scope, counted, send)


class PromptFastPath:
    """Serves a prompt read that is already cached without routing it through FastAPI.

    Only a hit with a token already known is answered here, with the bytes the
    route itself cached; anything else (a miss, an odd query) goes to the route,
    which validates it in full.  This is the hot path: apps read on every call.
    """

    def __init__(self, app: ASGIApp, state: _State) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = self._hit(scope) if scope["type"] == "http" else None
        if body is None:
            await self.app(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _hit(self, scope: Scope) -> bytes | None:
        path: str = scope["path"]
        if scope["method"] != "GET" or not path.startswith("/v1/slots/"):
            return None
        name, _, rest = path[len("/v1/slots/") :].partition("/")
        if rest != "prompt" or not name:
            return None
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        if set(query) - {"alias", "user"} or any(v != [v[0]] or not v[0] for v in query.values()):
            return None
        auth = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        tenant = self.state.tokens.get(hash_token(token.strip()))
        if tenant is None:
            return None
        key = (tenant, name, query.get("alias", [PRODUCTION])[0], query.get("user", [""])[0])
        return self.state.prompts.get(key)


def _too_large_text(limit: int) -> str:
    return f"the request body is larger than the limit of {limit} bytes"


def _too_large(limit: int) -> JSONResponse:
    return _error(413, "too_large", _too_large_text(limit))


def _error(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status)


def _validation_message(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    details = []
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        where = ".".join(loc)
        if err.get("type") == "json_invalid":
            msg = "the body is not valid JSON"
            where = ""
        elif err.get("type") == "missing":
            msg = "this field is required"
        elif err.get("type") == "extra_forbidden":
            msg = "unknown field (provider keys are never accepted: set them in the environment)"
        parts.append(f"{where}: {msg}" if where else msg)
        details.append({"field": where, "message": msg})
    return "; ".join(parts) or "invalid request", details


def _version_json(v: Version) -> dict[str, Any]:
    return {
        "version": v.number,
        "user": v.user_key or None,
        "components": dict(v.components),
        "source": v.source,
        "parent": v.parent_number,
        "round": v.round_id,
        "scores": dict(v.scores),
        "created_at": v.created_at,
    }


def _round_json(r: RoundRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "number": r.number,
        "user": r.user_key or None,
        "status": r.status,
        "events": r.n_events,
        "attempts": r.attempts,
        "reserved_rollouts": r.reserved_rollouts,
        "used_rollouts": r.used_rollouts,
        "used_usd": r.used_usd,
        "scores": dict(r.scores) if r.scores else None,
        "error": r.error,
        "report": f"/v1/rounds/{r.id}/report",
        "created_at": r.created_at,
        "finished_at": r.finished_at,
    }


class _State:
    """What the routes share: the store, the read caches, the inline worker."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.store = ServiceStore(connect(config.database))
        self.prompts: ReadCache[bytes] = ReadCache(
            config.cache_ttl_s, lambda: self.store.generation
        )
        self.tokens: ReadCache[int] = ReadCache(max(config.cache_ttl_s, 5.0))
        self.prompt_reads: SingleFlight[Hashable, bytes] = SingleFlight()
        self.worker: Worker | None = None

    async def tenant(self, token: str) -> int:
        digest = hash_token(token)
        cached = self.tokens.get(digest)
        if cached is not None:
            return cached
        tenant = await asyncio.to_thread(self.store.tenant_for_token, token)
        if tenant is None:
            raise Unauthorized("the API token is not valid")
        self.tokens.put(digest, tenant, 0)
        return tenant


def _bearer(request: Request, *, cookie: bool) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if cookie and request.cookies.get(COOKIE):
        return request.cookies[COOKIE]
    raise Unauthorized("missing API token: send 'Authorization: Bearer <token>'")


async def _tenant(request: Request) -> int:
    state: _State = request.app.state.service
    return await state.tenant(_bearer(request, cookie=False))


async def _reader(request: Request) -> int:
    """GET routes the web page uses also accept its session cookie."""
    state: _State = request.app.state.service
    return await state.tenant(_bearer(request, cookie=True))


Tenant = Annotated[int, Depends(_tenant)]
Reader = Annotated[int, Depends(_reader)]
UserQ = Annotated[str | None, Query(min_length=1, max_length=200)]


def create_app(config: ServiceConfig) -> FastAPI:
    """The ASGI app; its lifespan migrates the database and starts the inline worker."""
    state = _State(config)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(migrate, state.store.engine)
        task = None
        if config.worker:
            state.worker = Worker(state.store, config)
            task = asyncio.ensure_future(state.worker.run_forever())
        try:
            yield
        finally:
            if state.worker is not None and task is not None:
                state.worker.stop()
                await task
            state.store.close()

    app = FastAPI(
        title="paretext service",
        version="1",
        description="Prompt slots that keep learning from their users' feedback.",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI loads from a CDN; the schema is at /openapi.json
        redoc_url=None,
    )
    app.state.service = state
    app.add_middleware(BodyLimit, limit=config.max_body_bytes)
    app.add_middleware(PromptFastPath, state=state)
    store = state.store

    @app.exception_handler(ServiceError)
    async def _service_error(_r: Request, exc: ServiceError) -> JSONResponse:
        return _error(exc.status, exc.code, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_r: Request, exc: RequestValidationError) -> JSONResponse:
        message, details = _validation_message(exc)
        return _error(422, "invalid_request", message, details)

    @app.exception_handler(HTTPException)
    async def _http(_r: Request, exc: HTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}
        return _error(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(_r: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error: %s", scrub(f"{type(exc).__name__}: {exc}"))
        return _error(500, "internal", "internal error; the service log has the details")

    async def slot_of(tenant_id: int, name: str) -> Slot:
        return await asyncio.to_thread(store.slot, tenant_id, name)

    # -- health, tenants ------------------------------------------------------------
    @app.get("/healthz", tags=["meta"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/tenants", status_code=201, tags=["admin"])
    async def create_tenant(body: TenantIn, request: Request) -> dict[str, Any]:
        """Create a tenant (admin token only); its API token is shown this once."""
        given = _bearer(request, cookie=False)
        admin = config.admin_token
        if admin is None or not hmac.compare_digest(given.encode(), admin.encode()):
            raise Unauthorized("creating tenants needs the admin token (PARETEXT_ADMIN_TOKEN)")
        tenant_id, token = await asyncio.to_thread(store.create_tenant, body.name)
        return {"tenant": body.name, "id": tenant_id, "token": token}

    # -- slots ----------------------------------------------------------------------
    @app.post("/v1/slots", status_code=201, tags=["slots"])
    async def create_slot(body: SlotIn, tenant_id: Tenant) -> dict[str, Any]:
        """A new slot: its components become version 1, behind ``production``."""
        slot = await asyncio.to_thread(store.create_slot, tenant_id, body)
        return await asyncio.to_thread(_slot_json, store, slot)

    @app.get("/v1/slots", tags=["slots"])
    async def list_slots(tenant_id: Reader) -> dict[str, Any]:
        slots = await asyncio.to_thread(store.slots, tenant_id)
        return {"slots": [await asyncio.to_thread(_slot_json, store, s) for s in slots]}

    @app.get("/v1/slots/{name}", tags=["slots"])
    async def get_slot(name: str, tenant_id: Reader) -> dict[str, Any]:
        return await asyncio.to_thread(_slot_json, store, await slot_of(tenant_id, name))

    @app.get("/v1/slots/{name}/prompt", tags=["slots"])
    async def prompt(
        name: str,
        tenant_id: Tenant,
        alias: Annotated[str, Query(max_length=100)] = PRODUCTION,
        user: UserQ = None,
    ) -> Response:
        """The version behind ``alias`` (for ``user``, else the shared one): read on every call."""
        key = (tenant_id, name, alias, user or "")
        cached = state.prompts.get(key)
        if cached is None:

            async def read() -> bytes:
                generation = state.prompts.generation()
                slot = await slot_of(tenant_id, name)
                version = await asyncio.to_thread(store.resolve, slot.id, alias, user or "")
                payload = {
                    "slot": name,
                    "alias": alias,
                    **_version_json(version),
                    "program": dict(slot.program),
                }
                body = json.dumps(payload, separators=(",", ":")).encode()
                state.prompts.put(key, body, generation)
                return body

            # When an entry expires, the clients reading it at that moment share one read.
            cached, _ = await state.prompt_reads.run(key, read)
        return Response(cached, media_type="application/json")

    @app.get("/v1/slots/{name}/versions", tags=["versions"])
    async def list_versions(name: str, tenant_id: Reader) -> dict[str, Any]:
        slot = await slot_of(tenant_id, name)
        versions = await asyncio.to_thread(store.versions, slot.id)
        return {"versions": [_version_json(v) for v in versions]}

    @app.get("/v1/slots/{name}/versions/{number}", tags=["versions"])
    async def get_version(name: str, number: int, tenant_id: Reader) -> dict[str, Any]:
        slot = await slot_of(tenant_id, name)
        return _version_json(await asyncio.to_thread(store.version, slot.id, number))

    @app.post("/v1/slots/{name}/versions", status_code=201, tags=["versions"])
    async def add_version(name: str, body: VersionIn, tenant_id: Tenant) -> dict[str, Any]:
        """A new immutable version (optionally pointed at by ``alias`` at once)."""
        slot = await slot_of(tenant_id, name)
        version = await asyncio.to_thread(
            store.add_version, slot, body.components, body.user or "", body.alias
        )
        return _version_json(version)

    @app.put("/v1/slots/{name}/aliases/{alias}", tags=["versions"])
    async def move_alias(
        name: str, alias: str, body: AliasMove, tenant_id: Tenant
    ) -> dict[str, Any]:
        """Point ``alias`` at a version; moving ``production`` keeps the old one as ``previous``."""
        if not alias or len(alias) > 100:
            raise ServiceError("alias names are 1 to 100 characters")
        slot = await slot_of(tenant_id, name)
        version = await asyncio.to_thread(
            store.move_alias, slot.id, alias, body.version, body.user or ""
        )
        return {"alias": alias, **_version_json(version)}

    @app.post("/v1/slots/{name}/rollback", tags=["versions"])
    async def rollback(name: str, tenant_id: Tenant, user: UserQ = None) -> dict[str, Any]:
        """``production`` goes back to ``previous``."""
        slot = await slot_of(tenant_id, name)
        version = await asyncio.to_thread(store.rollback, slot.id, user or "")
        return {"alias": PRODUCTION, **_version_json(version)}

    # -- events and rounds ----------------------------------------------------------
    async def store_events(tenant_id: int, name: str, items: list[EventIn]) -> list[int]:
        slot = await slot_of(tenant_id, name)
        _check_fields(slot, items)
        return await asyncio.to_thread(store.add_events, slot, items)

    @app.post("/v1/slots/{name}/events", status_code=201, tags=["events"])
    async def post_event(name: str, body: EventIn, tenant_id: Tenant) -> dict[str, Any]:
        """Store one feedback event; the reply comes only once it is committed."""
        ids = await store_events(tenant_id, name, [body])
        return {"id": ids[0], "stored": True}

    @app.post("/v1/slots/{name}/events/batch", status_code=201, tags=["events"])
    async def post_events(name: str, body: EventBatch, tenant_id: Tenant) -> dict[str, Any]:
        """Store up to 500 events in one transaction (all or none)."""
        ids = await store_events(tenant_id, name, list(body.events))
        return {"ids": ids, "stored": True}

    @app.get("/v1/slots/{name}/events", tags=["events"])
    async def list_events(
        name: str,
        tenant_id: Reader,
        after: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        user: UserQ = None,
    ) -> dict[str, Any]:
        slot = await slot_of(tenant_id, name)
        found = await asyncio.to_thread(
            store.events, slot.id, user_key=user, after_id=after, limit=limit
        )
        return {
            "events": [
                {
                    "id": e.id,
                    "client_id": e.client_id,
                    "user": e.user_key or None,
                    "version": e.version,
                    "input": e.input,
                    "output": e.output,
                    "feedback": e.feedback,
                    "score": e.score,
                    "thumbs": e.thumbs,
                    "corrected": e.corrected,
                    "created_at": e.created_at,
                }
                for e in found
            ]
        }

    @app.get("/v1/slots/{name}/rounds", tags=["rounds"])
    async def list_rounds(name: str, tenant_id: Reader) -> dict[str, Any]:
        slot = await slot_of(tenant_id, name)
        return {"rounds": [_round_json(r) for r in await asyncio.to_thread(store.rounds, slot.id)]}

    @app.post("/v1/slots/{name}/rounds", status_code=202, tags=["rounds"])
    async def request_round(name: str, tenant_id: Tenant) -> dict[str, Any]:
        """Ask for a round now (run as soon as a worker is free and the budget allows)."""
        slot = await slot_of(tenant_id, name)
        await asyncio.to_thread(store.request_round, slot.id)
        return {"requested": True}

    @app.get("/v1/rounds/{round_id}/report", response_class=HTMLResponse, tags=["rounds"])
    async def round_report(round_id: int, tenant_id: Reader) -> HTMLResponse:
        """The round's run report (the same HTML as ``paretext report``)."""
        rnd = await asyncio.to_thread(store.round, round_id, tenant_id)
        return HTMLResponse(await asyncio.to_thread(_report_html, rnd))

    # -- the web page -----------------------------------------------------------------
    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/ui", status_code=303)

    @app.get("/ui", response_class=HTMLResponse, include_in_schema=False)
    async def ui(request: Request) -> HTMLResponse:
        token = request.cookies.get(COOKIE)
        if not token:
            return HTMLResponse(login_page())
        try:
            tenant_id = await state.tenant(token)
        except Unauthorized:
            return HTMLResponse(login_page("That token is not valid."))
        return HTMLResponse(await asyncio.to_thread(_page, store, tenant_id))

    @app.post("/ui/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        token = (form.get("token") or [""])[0].strip()
        try:
            await state.tenant(token)
        except Unauthorized:
            return HTMLResponse(login_page("That token is not valid."))
        response = RedirectResponse("/ui", status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")
        return response

    @app.post("/ui/logout", include_in_schema=False)
    async def logout() -> Response:
        response = RedirectResponse("/ui", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    return app


def _check_fields(slot: Slot, items: list[EventIn]) -> None:
    """Every field the slot's templates read must be in each event's input."""
    steps = slot.program["steps"]
    produced = {s.get("name") or s["component"] for s in steps}
    needed = set().union(*(template_fields(s["template"]) for s in steps)) - produced
    for i, item in enumerate(items):
        missing = sorted(needed - set(item.fields()))
        if missing:
            where = f"event {i}: " if len(items) > 1 else ""
            raise ServiceError(f"{where}input lacks fields {missing} that the slot's templates use")


def _slot_json(store: ServiceStore, slot: Slot) -> dict[str, Any]:
    aliases = store.aliases(slot.id)
    spent = store.spent(slot.id, utc_day())
    return {
        "name": slot.name,
        "program": dict(slot.program),
        "policy": dict(slot.policy),
        "aliases": {name: n for (user, name), n in aliases.items() if not user},
        "user_aliases": _by_user(aliases),
        "versions": len(store.versions(slot.id)),
        "spent_today": {"rollouts": spent.rollouts, "usd": spent.usd},
        "created_at": slot.created_at,
    }


def _by_user(aliases: dict[tuple[str, str], int]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for (user, name), number in sorted(aliases.items()):
        if user:
            out.setdefault(user, {})[name] = number
    return out


def _page(store: ServiceStore, tenant_id: int) -> str:
    slots = store.slots(tenant_id)
    return slots_page(
        [
            (s, store.versions(s.id), store.aliases(s.id), store.rounds(s.id, limit=20))
            for s in slots
        ]
    )


def _report_html(rnd: RoundRecord) -> str:
    from ..report import load, render_html

    try:
        data = load(rnd.run_path)
    except StoreError:
        raise NotFound(f"round {rnd.id} has no run store yet") from None
    return render_html(data)
