"""``paretext serve``, ``paretext worker`` and ``paretext tenant``: thin doors onto the service."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import Annotated

import typer

from ._config import ServiceConfig
from ._db import connect, migrate
from ._store import ServiceStore

__all__ = ["serve", "tenant", "worker"]

DbOpt = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="PARETEXT_DB",
        help="SQLAlchemy URL or SQLite file (postgresql://... for several processes).",
    ),
]
RunsOpt = Annotated[
    Path, typer.Option("--runs", envvar="PARETEXT_RUNS", help="Where each round's run store goes.")
]
ReflectionOpt = Annotated[
    str | None,
    typer.Option(
        "--reflection-lm",
        envvar="PARETEXT_REFLECTION_LM",
        help="Default reflection model for rounds (a slot's policy may override).",
    ),
]
JudgeOpt = Annotated[
    str | None,
    typer.Option(
        "--judge-lm", envvar="PARETEXT_JUDGE_LM", help="Default judge model for free-text feedback."
    ),
]
LeaseOpt = Annotated[
    float,
    typer.Option("--lease", min=1.0, help="Seconds a worker's claim on a round lasts unrenewed."),
]
PollOpt = Annotated[
    float, typer.Option("--poll", min=0.05, help="Seconds between looks for due rounds.")
]


def _logging(level: str) -> None:
    # One line per LM request would drown the service's own log.
    for noisy in ("httpx2", "httpcore2", "httpx", "httpcore", "openai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def serve(
    db: DbOpt = "paretext-service.db",
    runs: RunsOpt = Path("paretext-runs"),
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    inline_worker: Annotated[
        bool, typer.Option("--worker/--no-worker", help="Run rounds in this process too.")
    ] = True,
    reflection_lm: ReflectionOpt = None,
    judge_lm: JudgeOpt = None,
    max_body: Annotated[
        int, typer.Option("--max-body", min=1024, help="Largest request body, bytes.")
    ] = 1 << 20,
    cache_ttl: Annotated[
        float,
        typer.Option(
            "--cache-ttl", min=0.0, help="Seconds a prompt read may be served from memory."
        ),
    ] = 1.0,
    lease: LeaseOpt = 30.0,
    poll: PollOpt = 1.0,
    log_level: Annotated[str, typer.Option("--log-level")] = "info",
    access_log: Annotated[bool, typer.Option("--access-log/--no-access-log")] = False,
) -> None:
    """Run the optimization service (HTTP API, web page at /ui, OpenAPI at /openapi.json)."""
    import uvicorn

    from ._app import create_app

    _logging(log_level)
    config = ServiceConfig(
        database=db,
        runs=runs,
        worker=inline_worker,
        reflection_lm=reflection_lm,
        judge_lm=judge_lm,
        admin_token=ServiceConfig.admin_token_from_env(),
        max_body_bytes=max_body,
        cache_ttl_s=cache_ttl,
        lease_s=lease,
        poll_s=poll,
    )
    uvicorn.run(
        create_app(config),
        host=host,
        port=port,
        log_level=log_level,
        access_log=access_log,
        timeout_graceful_shutdown=10,
    )


def worker(
    db: DbOpt = "paretext-service.db",
    runs: RunsOpt = Path("paretext-runs"),
    reflection_lm: ReflectionOpt = None,
    judge_lm: JudgeOpt = None,
    lease: LeaseOpt = 30.0,
    poll: PollOpt = 1.0,
    log_level: Annotated[str, typer.Option("--log-level")] = "info",
) -> None:
    """Run a worker: rounds for every slot in the database, beside other workers."""
    from ._worker import Worker

    _logging(log_level)
    config = ServiceConfig(
        database=db,
        runs=runs,
        worker=True,
        reflection_lm=reflection_lm,
        judge_lm=judge_lm,
        lease_s=lease,
        poll_s=poll,
    )
    store = ServiceStore(connect(config.database))
    migrate(store.engine)
    loop_worker = Worker(store, config)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, loop_worker.stop)
        await loop_worker.run_forever()

    try:
        asyncio.run(main())
    finally:
        store.close()


def tenant(
    name: Annotated[str, typer.Argument(help="The tenant's name.")],
    db: DbOpt = "paretext-service.db",
    new_token: Annotated[
        bool, typer.Option("--new-token", help="Add a token to an existing tenant instead.")
    ] = False,
) -> None:
    """Create a tenant (or a new token for one) and print its API token (shown only once)."""
    from ..cli import exit_on_errors

    with exit_on_errors():
        store = ServiceStore(connect(db))
        try:
            migrate(store.engine)
            token = store.add_token(name) if new_token else store.create_tenant(name)[1]
        finally:
            store.close()
    typer.echo(token)
