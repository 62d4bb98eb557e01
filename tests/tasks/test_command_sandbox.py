"""The native-command sandbox: limits, no network, no writes outside, no inherited secrets."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from pathlib import Path

import pytest

from paretext.tasks import SandboxLimits
from paretext.tasks._command import isolation_available, run_command, workspace

pytestmark = pytest.mark.skipif(not isolation_available(), reason="bubblewrap cannot run here")

PROGRAM = r"""
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv) {
    const char *what = argc > 1 ? argv[1] : "";
    if (!strcmp(what, "connect")) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {0};
        a.sin_family = AF_INET;
        a.sin_port = htons(atoi(argv[2]));
        a.sin_addr.s_addr = inet_addr("127.0.0.1");
        printf("connect=%d\n", connect(s, (struct sockaddr *)&a, sizeof a));
    } else if (!strcmp(what, "write")) {
        FILE *f = fopen(argv[2], "w");
        printf("opened=%d\n", f != NULL);
    } else if (!strcmp(what, "env")) {
        printf("key=%s\n", getenv("OPENAI_API_KEY") ? getenv("OPENAI_API_KEY") : "none");
    } else if (!strcmp(what, "spin")) {
        for (;;) {}
    } else if (!strcmp(what, "sleep")) {
        sleep(30);
    } else if (!strcmp(what, "segv")) {
        volatile int *p = 0; *p = 1;
    } else if (!strcmp(what, "fork")) {
        int made = 0;
        for (int i = 0; i < 200; i++) if (fork() == 0) { sleep(5); _exit(0); } else made++;
        printf("forked=%d\n", made);
    }
    return 0;
}
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with workspace({"probe.c": PROGRAM}) as ws:
        compiled = run_command(["gcc", "-O1", "probe.c", "-o", "probe"], ws)
        assert compiled.ok, compiled.stderr
        yield ws


def test_a_server_on_the_hosts_loopback_is_unreachable(built) -> None:  # type: ignore[no-untyped-def]
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    accepted: list[object] = []
    server.settimeout(3)

    def accept() -> None:
        with contextlib.suppress(OSError):
            accepted.append(server.accept())

    thread = threading.Thread(target=accept)
    thread.start()
    result = run_command(["./probe", "connect", str(port)], built)
    thread.join()
    server.close()
    assert result.isolated
    assert "connect=-1" in result.stdout
    assert accepted == []


def test_writes_outside_the_work_directory_fail(built, tmp_path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "escaped.txt"
    result = run_command(["./probe", "write", str(target)], built)
    assert "opened=0" in result.stdout
    assert not target.exists()
    inside = run_command(["./probe", "write", "inside.txt"], built)
    assert "opened=1" in inside.stdout


def test_the_environment_holds_no_secret(built, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value")
    result = run_command(["./probe", "env"], built)
    assert "key=none" in result.stdout


def test_limits_end_runaway_programs(built) -> None:  # type: ignore[no-untyped-def]
    spin = run_command(["./probe", "spin"], built,
                       limits=SandboxLimits(wall_seconds=10, cpu_seconds=1))
    assert spin.status == "cpu_limit"
    sleeper = run_command(["./probe", "sleep"], built,
                          limits=SandboxLimits(wall_seconds=0.5, cpu_seconds=5))
    assert sleeper.status == "timeout"
    assert "wall-clock" in sleeper.describe()
    crash = run_command(["./probe", "segv"], built)
    assert crash.status == "crashed"
    assert "SIGSEGV" in crash.describe()


def _running(marker: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if marker in cmdline:
                found.append(cmdline)
    return found


def test_children_left_behind_die_with_the_command(built) -> None:  # type: ignore[no-untyped-def]
    result = run_command(["./probe", "fork"], built, limits=SandboxLimits(wall_seconds=10))
    assert "forked=" in result.stdout
    deadline = time.monotonic() + 5  # the namespace's teardown kills them; give it a moment
    while _running("./probe fork") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _running("./probe fork") == []
