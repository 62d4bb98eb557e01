"""Real servers for the service tests: uvicorn in a subprocess, SQLite or PostgreSQL 15.

The ``database`` fixture runs each test once per backend.  PostgreSQL is a
throwaway cluster (``initdb`` + ``pg_ctl`` as the ``postgres`` user, on a free
loopback port) shared by the session; each test gets its own database.  Skips
when the binaries are missing, except under CI (``.ci/run`` installs them).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "lm"))
sys.path.insert(0, str(Path(__file__).parent))

from fake_server import FakeOpenAIServer
from world import respond

ROOT = Path(__file__).parents[2]
ADMIN = "admin-" + uuid.uuid4().hex
PROVIDER_KEY = "sk-test-" + uuid.uuid4().hex


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_postgres(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    return ["runuser", "-u", "postgres", "--", *args]


@contextlib.contextmanager
def pg_cluster() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on a free loopback port: yields its server URL."""
    bindir = _pg_bin()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL binaries missing: apt-get install postgresql")
    base = Path(tempfile.mkdtemp(prefix="paretext-pg-"))
    data = base / "data"
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    port = free_port()
    initdb = [
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
    ]
    subprocess.run(_as_postgres(initdb), check=True, capture_output=True)
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c max_connections=300"
    pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data)]
    start = [*pg_ctl, "-o", options, "-w", "-l", str(base / "log"), "start"]
    subprocess.run(_as_postgres(start), check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_postgres([*pg_ctl, "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """The session's cluster; skips without the binaries, except under CI."""
    if _pg_bin() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL binaries missing (CI must install them: see .ci/run)")
        pytest.skip("PostgreSQL binaries missing: apt-get install postgresql")
    with pg_cluster() as url:
        yield url


def new_pg_database(server: str) -> str:
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{server}/{name}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'service.db'}"
    return new_pg_database(request.getfixturevalue("postgres"))


@pytest.fixture(scope="session")
def llm() -> Iterator[FakeOpenAIServer]:
    server = FakeOpenAIServer(responder=respond, api_key=PROVIDER_KEY).start()
    try:
        yield server
    finally:
        server.stop()


class Proc:
    """A ``paretext serve`` or ``paretext worker`` subprocess with its log file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args = args
        self.env = env
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        handle = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from paretext.cli import main; main()", *self.args],
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        handle.close()
        return self

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class Service:
    """A running service: the API process, optional separate workers, and clients for it."""

    def __init__(
        self,
        database: str,
        tmp: Path,
        llm: FakeOpenAIServer,
        *,
        inline_worker: bool,
        workers: int = 0,
        lease: float = 30.0,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.database = database
        self.runs = tmp / "runs"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PARETEXT_"))}
        env.update(
            PYTHONPATH=str(ROOT / "src"),
            PARETEXT_ADMIN_TOKEN=ADMIN,
            OPENAI_BASE_URL=llm.base_url,
            OPENAI_API_KEY=PROVIDER_KEY,
        )
        env.update(extra_env or {})
        self.env = env
        common = [
            "--db",
            database,
            "--runs",
            str(self.runs),
            "--lease",
            str(lease),
            "--poll",
            "0.2",
        ]
        self.api = Proc(
            [
                "serve",
                *common,
                "--port",
                str(self.port),
                "--worker" if inline_worker else "--no-worker",
                "--cache-ttl",
                "0.5",
            ],
            env,
            tmp / "serve.log",
        )
        self.workers = [
            Proc(["worker", *common], env, tmp / f"worker{i}.log") for i in range(workers)
        ]

    def start(self) -> Service:
        self.api.start()
        for w in self.workers:
            w.start()
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.api.proc is not None
            if self.api.proc.poll() is not None:
                raise RuntimeError(f"the service exited:\n{self.api.output()}")
            try:
                if httpx2.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx2.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the service did not come up:\n{self.api.output()}")

    def stop(self) -> None:
        for w in self.workers:
            w.stop()
        self.api.stop()

    def client(self, token: str | None = None) -> httpx2.Client:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return httpx2.Client(base_url=self.url, headers=headers, timeout=30)

    def tenant(self, name: str) -> str:
        with self.client(ADMIN) as c:
            r = c.post("/v1/tenants", json={"name": name})
            assert r.status_code == 201, r.text
            token: str = r.json()["token"]
            return token

    def logs(self) -> str:
        return self.api.output() + "".join(w.output() for w in self.workers)


@pytest.fixture
def service_factory(database: str, tmp_path: Path, llm: FakeOpenAIServer) -> Iterator[Any]:
    started: list[Service] = []

    def make(**kwargs: Any) -> Service:
        service = Service(database, tmp_path, llm, **kwargs)
        started.append(service)
        return service.start()

    try:
        yield make
    finally:
        for s in started:
            s.stop()


def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
