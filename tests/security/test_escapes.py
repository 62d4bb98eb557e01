"""Escapes from the sandbox, each run for real and asserted contained.

Every payload runs with the audit hook *off* (``audit_hook=False``) unless the
test is about the hook: the namespaces alone must hold.  The parent holds a
fake API key in its environment and a secret file on its disk; no payload may
read either, write outside its work directory, reach the network, signal a
process outside, or leave a process behind.
"""

from __future__ import annotations

import ast
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from paretext.tasks import (
    Sandbox,
    SandboxLimits,
    SandboxResult,
    SandboxUnavailable,
    _isolation,
    run_python,
    run_sandboxed,
)

KEY = "sk-paretext-escape-test-0123456789abcdef"
LIMITS = SandboxLimits(wall_seconds=5.0, cpu_seconds=3, memory_bytes=512 * 2**20)


@pytest.fixture(autouse=True)
def parent_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    return KEY


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "host-secret.txt"
    path.write_text(KEY)
    return path


def escape(
    source: str, *, hook: bool = False, limits: SandboxLimits = LIMITS
) -> SandboxResult:
    """Run ``source`` in the sandbox; the output must never hold the parent's key."""
    result = run_python(textwrap.dedent(source), limits=limits, audit_hook=hook)
    assert KEY not in result.stdout and KEY not in result.stderr
    assert all(KEY not in text for text in result.files.values())
    return result


def lines(result: SandboxResult) -> list[str]:
    return result.stdout.splitlines()


# -- 1. the parent's environment (the API key) ---------------------------------------------


def test_environment_is_empty_but_for_what_the_sandbox_sets() -> None:
    result = escape("import os; print(sorted(os.environ))")
    assert result.ok, result.stderr
    assert "OPENAI_API_KEY" not in result.stdout
    names = ast.literal_eval(result.stdout)
    assert set(names) <= {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "PYTHONHASHSEED",
                          "PYTHONDONTWRITEBYTECODE", "PWD", "LC_CTYPE"}


def test_parent_proc_environ_is_unreachable_by_every_path() -> None:
    host_pid = os.getpid()
    result = escape(f"""
        import os
        tries = {{
            "ppid": "//proc/%d/environ" % os.getppid(),
            "host pid": "/proc/{host_pid}/environ",
            "via root": "/proc/self/root/proc/%d/environ" % os.getppid(),
            "pid 1": "/proc/1/environ",
        }}
        try:
            os.symlink("/proc", "p")
            tries["symlink"] = "p/{host_pid}/environ"
        except OSError as e:
            print("symlink", e)
        for name, path in tries.items():
            try:
                print(name, open(path, "rb").read())
            except OSError as e:
                print(name, "refused", type(e).__name__)
        os.chdir("/proc")
        for entry in os.listdir("."):
            if entry.isdigit():
                try:
                    print("chdir", entry, open(entry + "/environ", "rb").read())
                except OSError as e:
                    print("chdir", entry, type(e).__name__)
        fd = os.open("/proc", os.O_RDONLY)
        try:
            opener = lambda p, f: os.open(p, f, dir_fd=fd)
            print("dir_fd", open("{host_pid}/environ", "rb", opener=opener).read())
        except OSError as e:
            print("dir_fd refused", type(e).__name__)
        print("pids", sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))
    """)
    assert result.ok, result.stderr
    assert "host pid refused" in result.stdout and "dir_fd refused" in result.stdout
    pids = ast.literal_eval(lines(result)[-1].removeprefix("pids "))
    assert max(pids) < 10  # a PID namespace of its own: only the sandbox's processes


def test_disabling_the_audit_hook_gains_nothing() -> None:
    host_pid = os.getpid()
    result = escape(
        f"""
        import __main__, os
        __main__.DENY.clear()
        __main__.PATHS.clear()
        __main__._hook.__code__ = (lambda event, args: None).__code__
        try:
            print(open("/proc/{host_pid}/environ", "rb").read())
        except OSError as e:
            print("refused", type(e).__name__)
        print(os.system("echo $OPENAI_API_KEY; cat /proc/*/environ 2>/dev/null | tr '\\\\0' ' '"))
        """,
        hook=True,
    )
    assert "refused FileNotFoundError" in result.stdout


# -- 2. shells and subprocesses: they run, inside ----------------------------------------


def test_native_shells_stay_inside(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    result = escape(f"""
        import ctypes, os, _posixsubprocess
        print("system", ctypes.CDLL(None).system(b"touch {marker}; env > env.txt"))
        r, w = os.pipe()
        pid = _posixsubprocess.fork_exec(
            [b"/bin/sh", b"-c", b"touch {marker}"], [b"/bin/sh"], True, (), None, None,
            -1, -1, -1, -1, -1, -1, r, w, True, False, 0, None, None, None, -1, None, False)
        os.waitpid(pid, 0)
        print(open("env.txt").read())
    """)
    assert result.ok, result.stderr
    assert not marker.exists()


# -- 3. network --------------------------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    yield server
    server.close()


def _accepted(server: socket.socket) -> bool:
    try:
        conn, _ = server.accept()
    except TimeoutError:
        return False
    conn.close()
    return True


CONNECT = """
import ctypes, socket, struct
port = {port}
for how in ("python", "ctypes"):
    try:
        if how == "python":
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        else:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = libc.socket(2, 1, 0)
            addr = struct.pack("!HH4s8x", 2, port, bytes([127, 0, 0, 1]))
            addr = struct.pack("H", 2) + addr[2:]
            if libc.connect(fd, addr, len(addr)) != 0:
                raise OSError(ctypes.get_errno(), "connect")
        print(how, "connected")
    except OSError as e:
        print(how, "refused", e)
"""


def test_no_network_by_default(listener: socket.socket) -> None:
    result = escape(CONNECT.format(port=listener.getsockname()[1]))
    assert result.ok, result.stderr
    assert "connected" not in result.stdout
    assert not _accepted(listener)


def test_network_only_when_asked(listener: socket.socket) -> None:
    with Sandbox(network=True) as box:
        result = box.run_python(CONNECT.format(port=listener.getsockname()[1]), audit_hook=False)
    assert "python connected" in result.stdout and "ctypes connected" in result.stdout
    assert _accepted(listener)


def test_abstract_unix_sockets_of_the_host_are_unreachable() -> None:
    name = f"\0paretext-test-{uuid.uuid4().hex}"
    server = socket.socket(socket.AF_UNIX)
    server.bind(name)
    server.listen(1)
    try:
        result = escape(f"""
            import socket
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect({name!r})
                print("connected")
            except OSError as e:
                print("refused", e)
        """)
    finally:
        server.close()
    assert "refused" in result.stdout


# -- 4. signals to processes outside -------------------------------------------------------


def test_signals_cannot_reach_outside() -> None:
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        result = escape(f"""
            import ctypes, os, signal
            libc = ctypes.CDLL(None, use_errno=True)
            for pid in ({victim.pid}, {os.getpid()}, os.getppid()):
                print(pid, libc.kill(pid, signal.SIGKILL), ctypes.get_errno())
            try:
                fd = os.pidfd_open({victim.pid})
                signal.pidfd_send_signal(fd, signal.SIGKILL)
                print("pidfd sent")
            except OSError as e:
                print("pidfd refused", e)
            print("kill -1", libc.kill(-1, signal.SIGKILL))
        """)
        time.sleep(0.2)
        assert victim.poll() is None, result.stdout
        assert "pidfd sent" not in result.stdout
    finally:
        victim.kill()
        victim.wait()


# -- 5. files outside the work directory --------------------------------------------------


def test_writes_outside_the_work_dir_do_not_land(tmp_path: Path) -> None:
    targets = {k: tmp_path / k for k in ("chdir", "symlink", "dirfd", "sqlite", "fifo", "open")}
    tmp_marker = Path("/tmp") / f"paretext-escape-{uuid.uuid4().hex}"
    result = escape(f"""
        import os, sqlite3
        t = {{k: str(v) for k, v in {dict((k, str(v)) for k, v in targets.items())!r}.items()}}
        def attempt(name, fn):
            try:
                fn()
                print(name, "done")
            except Exception as e:
                print(name, "refused", type(e).__name__)
        attempt("open", lambda: open(t["open"], "w").write("x"))
        def chdir():
            os.chdir(os.path.dirname(t["chdir"]))
            open("chdir", "w").write("x")
        attempt("chdir", chdir)
        os.chdir("/work")
        def link():
            os.symlink(t["symlink"], "link")
            open("link", "w").write("x")
        attempt("symlink", link)
        def dirfd():
            fd = os.open(os.path.dirname(t["dirfd"]), os.O_RDONLY)
            os.close(os.open("dirfd", os.O_WRONLY | os.O_CREAT, dir_fd=fd))
        attempt("dirfd", dirfd)
        attempt("sqlite", lambda: sqlite3.connect(t["sqlite"]).execute("create table x(y)"))
        attempt("fifo", lambda: os.mkfifo(t["fifo"]))
        attempt("usr", lambda: open("/usr/paretext-escape", "w"))
        attempt("tmp", lambda: open("{tmp_marker}", "w").write("x"))
    """)
    assert result.ok, result.stderr
    assert "usr refused" in result.stdout
    assert [p for p in targets.values() if p.exists()] == []
    assert not tmp_marker.exists()


def test_host_files_are_not_visible(secret_file: Path) -> None:
    project = Path(__file__).resolve().parents[2]
    _, python_paths = _isolation.python_binds()  # the interpreter's own prefix is bound
    allowed = {str(p) for path in python_paths for p in (Path(path), *Path(path).parents)}
    host = [secret_file, project, Path("/etc/shadow"), Path("/etc/passwd")]
    for top in ("/root", "/home", "/var", "/run", "/srv", "/opt", "/work"):
        if os.path.isdir(top):
            host += [p for p in Path(top).iterdir() if str(p) not in allowed]
    assert len(host) > 4
    result = escape(f"""
        import os
        for path in {[str(p) for p in host]!r}:
            print(path, os.path.lexists(path))
        print(sorted(os.listdir("/etc")))
    """)
    assert result.ok, result.stderr
    visible = [line for line in lines(result)[:-1] if not line.endswith(" False")]
    assert visible == []
    assert "shadow" not in lines(result)[-1] and "passwd" not in lines(result)[-1]


def test_links_left_in_the_work_dir_are_not_followed_back(secret_file: Path) -> None:
    with Sandbox() as box:
        result = box.run_python(
            f"import os\nos.symlink({str(secret_file)!r}, 'out.txt')\nos.symlink('/etc', 'x.c')",
            collect=["out.txt"],
            audit_hook=False,
        )
        assert result.ok and dict(result.files) == {}
        assert box.read_bytes("out.txt") is None
        with pytest.raises(OSError):
            box.write("x.c", "int main;")  # never written through the link
    assert secret_file.read_text() == KEY


def test_only_standard_descriptors_are_inherited() -> None:
    keep = open(__file__)  # noqa: SIM115 - an fd the parent holds open
    try:
        result = escape("import os; print(sorted(int(f) for f in os.listdir('/proc/self/fd')))")
    finally:
        keep.close()
    assert set(ast.literal_eval(result.stdout)) <= {0, 1, 2, 3}  # 3: listdir's own


# -- 6. processes that try to outlive the run --------------------------------------------


def _alive_with(tag: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if tag.encode() in cmdline:
                found.append(int(entry.name))
    return found


@pytest.mark.parametrize("ending", ["exit", "timeout"])
def test_setsid_children_die_with_the_run(ending: str) -> None:
    tag = f"{time.time_ns() % 10**6}.{os.getpid()}"
    result = escape(
        f"""
        import os, subprocess, time
        subprocess.Popen(["sleep", "{tag}"], start_new_session=True)
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.execvp("sleep", ["sleep", "{tag}"])
            os._exit(0)
        time.sleep(0.3)
        print("started", flush=True)
        if "{ending}" == "timeout":
            time.sleep(60)
        """,
        limits=SandboxLimits(wall_seconds=1.5),
    )
    assert "started" in result.stdout
    assert result.status == ("timeout" if ending == "timeout" else "ok")
    time.sleep(0.1)
    assert _alive_with(tag) == []


def test_fork_bomb_is_contained() -> None:
    started = time.monotonic()
    result = escape(
        """
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass
        """,
        limits=SandboxLimits(wall_seconds=2.0, cpu_seconds=2, processes=32),
    )
    assert result.status in ("timeout", "cpu_limit")
    assert time.monotonic() - started < 20
    assert run_python("print('after')", limits=LIMITS).stdout.strip() == "after"


# -- 7. compiled code -----------------------------------------------------------------------


def test_compiled_c_is_contained_too(tmp_path: Path, secret_file: Path) -> None:
    source = f"""
    #include <stdio.h>
    #include <stdlib.h>
    #include <unistd.h>
    int main(void) {{
        const char *key = getenv("OPENAI_API_KEY");
        printf("key=%s\\n", key ? key : "none");
        FILE *f = fopen("{secret_file}", "r");
        printf("secret=%s\\n", f ? "read" : "hidden");
        FILE *g = fopen("{tmp_path}/from-c", "w");
        printf("write=%s\\n", g ? "done" : "refused");
        printf("pid=%d\\n", (int)getpid());
        return 0;
    }}
    """
    with Sandbox(files={"escape.c": textwrap.dedent(source)}) as box:
        built = box.run(["gcc", "-O1", "escape.c", "-o", "escape"])
        assert built.ok, built.stderr
        ran = box.run(["./escape"])
    assert ran.ok, ran.stderr
    assert "key=none" in ran.stdout and "secret=hidden" in ran.stdout
    assert "write=refused" in ran.stdout and not (tmp_path / "from-c").exists()


# -- 8. no isolation, no run ------------------------------------------------------------------


@pytest.fixture
def without_bwrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("prlimit", "sh"):
        found = subprocess.run(["which", tool], capture_output=True, text=True, check=True)
        (bin_dir / tool).symlink_to(found.stdout.strip())
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("PARETEXT_SANDBOX", raising=False)
    _isolation._bwrap_problem.cache_clear()
    yield
    _isolation._bwrap_problem.cache_clear()


@pytest.mark.usefixtures("without_bwrap")
def test_without_bubblewrap_untrusted_code_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SandboxUnavailable, match="PARETEXT_SANDBOX=weak"):
        run_python("print('never runs')")
    weak = run_python("print('ran')", isolation="weak")
    assert weak.ok and weak.isolation == "weak" and weak.stdout.strip() == "ran"
    monkeypatch.setenv("PARETEXT_SANDBOX", "weak")
    assert run_sandboxed(["/bin/sh", "-c", "echo $OPENAI_API_KEY."]).stdout.strip() == "."


def test_unknown_isolation_names_are_refused() -> None:
    with pytest.raises(ValueError, match="'namespaces' or 'weak'"):
        run_python("pass", isolation="none")  # type: ignore[arg-type]


def test_signal_is_reported_as_a_crash() -> None:
    result = run_sandboxed(["/bin/sh", "-c", f"kill -{int(signal.SIGSEGV)} $$"])
    assert result.status == "crashed" and result.returncode == -signal.SIGSEGV
    assert "SIGSEGV" in result.describe()
