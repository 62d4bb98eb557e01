"""The Python that runs inside the sandbox before the user's code: the audit-hook layer.

Under bubblewrap the namespaces are the boundary and this hook is a second layer
that refuses (and reports) what generated code has no business doing: shells,
subprocesses, forks, signals to other processes, network connections, native
libraries, writes outside the work directory, other processes' ``/proc`` files.
On its own (the ``weak`` isolation) it is a speed bump, not a boundary: code
written to escape switches it off.
"""

from __future__ import annotations

__all__ = ["BOOT", "LAUNCH"]

# Runs inside the child before the user's code.  Everything it needs is imported
# before the audit hook goes in; the hook then guards every later operation.
BOOT = r"""
import _thread, os, sys
_report_path = sys.argv[2]
sys.argv = ["main.py"]
sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd())]

ROOT = os.path.realpath(os.getcwd())
PID = os.getpid()
_report = open(_report_path, "a", buffering=1, encoding="utf-8")
with open("main.py", encoding="utf-8") as _f:
    _source = _f.read()
DENY = {
    "os.system": "running a shell command",
    "subprocess.Popen": "starting a subprocess",
    "os.exec": "executing a program",
    "os.posix_spawn": "starting a process",
    "os.spawn": "starting a process",
    "os.fork": "forking a process",
    "os.forkpty": "forking a process",
    "socket.connect": "opening a network connection",
    "socket.bind": "listening on the network",
    "socket.sendto": "sending network traffic",
    "socket.sendmsg": "sending network traffic",
}
PATHS = {
    "os.remove": (0,), "os.rmdir": (0,), "os.rename": (0, 1), "os.mkdir": (0,),
    "os.chmod": (0,), "os.chown": (0,), "os.link": (0, 1), "os.symlink": (1,),
    "os.truncate": (0,), "os.utime": (0,), "shutil.rmtree": (0,),
}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_busy = set()  # threads inside the hook: its own operations are not checked again

def _inside(path):
    full = os.path.normpath(os.path.join(ROOT, os.fsdecode(path)))
    return full == ROOT or full.startswith(ROOT + os.sep)

def _refuse(event, what):
    _report.write(f"{what} ({event})\n")
    raise PermissionError(f"sandbox: {what} is not allowed ({event})")

def _hook(event, args):
    me = _thread.get_ident()
    if me in _busy:
        return
    _busy.add(me)
    try:
        if event in DENY:
            _refuse(event, DENY[event])
        elif event in ("os.kill", "os.killpg"):
            if args[0] not in (PID, 0, -PID):
                _refuse(event, "signalling another process")
        elif event == "ctypes.dlopen":
            if args and args[0] is not None:
                _refuse(event, "loading a native library")
        elif event == "open":
            path, mode, flags = args
            if isinstance(path, int) or path is None:
                return
            text = os.fsdecode(path)
            writing = any(c in mode for c in "wax+") if isinstance(mode, str) else bool(
                (flags or 0) & WRITE_FLAGS)
            if writing and not _inside(text) and text != os.devnull:
                _refuse(event, "writing outside the working directory")
            full = os.path.normpath(os.path.join(ROOT, text))
            if full.startswith("/proc/"):
                part = full.split("/")[2]
                if part.isdigit() and int(part) != PID:
                    _refuse(event, "reading another process's /proc files")
        elif event in PATHS:
            for i in PATHS[event]:
                if i < len(args) and isinstance(args[i], (str, bytes, os.PathLike)):
                    if not _inside(os.fspath(args[i])):
                        _refuse(event, "changing files outside the working directory")
    finally:
        _busy.discard(me)

def _user_frames(report, traceback):
    # Keep the user's frames only: the sandbox's own are noise in feedback.
    seen = set()
    while report is not None and id(report) not in seen:
        seen.add(id(report))
        kept = [f for f in report.stack if f.filename != "<sandbox>"]
        report.stack = traceback.StackSummary.from_list(kept)
        report = report.__cause__ or report.__context__

try:
    _code = compile(_source, "main.py", "exec")
except SyntaxError:
    import traceback  # imported only when needed: start-up time counts on every run
    traceback.print_exc(limit=0)
    sys.exit(1)
_globals = {"__name__": "__main__", "__file__": "main.py", "__builtins__": __builtins__}
sys.addaudithook(_hook)
try:
    exec(_code, _globals)
except SystemExit:
    raise
except BaseException as _exc:
    import traceback
    _error = traceback.TracebackException.from_exception(_exc)
    _user_frames(_error, traceback)
    sys.stderr.write("".join(_error.format()))
    sys.stderr.flush()
    os._exit(1)
"""


LAUNCH = "import sys; exec(compile(sys.argv[1], '<sandbox>', 'exec'))"
