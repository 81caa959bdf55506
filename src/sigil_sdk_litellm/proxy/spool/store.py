"""The disk spool's store: one SQLite database (WAL mode) per proxy worker in ``SIGIL_SPOOL_DIR``.

Why SQLite: it is in the standard library, its WAL mode lets the worker append while another thread
or process reads and deletes, and a commit that returned survives the death of every process that
touched the file (with ``synchronous=NORMAL`` the WAL is written at commit and fsynced at checkpoints:
a power loss or kernel crash can lose the last commits, a ``kill -9`` or OOM kill cannot). The
measured cost of ``FULL`` (an fsync per commit) is in docs/spool.md.

Ownership: the file's owner holds an exclusive ``flock`` on it for its lifetime (a worker passes the
locked descriptor to its recorder process, so the lease ends only when both are gone). A file whose
lock can be taken belongs to a dead process: exactly one live process gets the lock and adopts it.
A new file is prepared under a hidden name and renamed once locked, so nobody adopts it half made.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from sigil_sdk_litellm.problem_log import ProblemLog

FORMAT = "sigil-sdk-litellm-spool/1"
SUFFIX = ".spool.sqlite3"
COMPANIONS = ("-wal", "-shm", "-journal")
TEMP_PREFIX = ".sigil-spool-new-"
# With SIGIL_TENANT_MAP each tenant but the default spools in <SIGIL_SPOOL_DIR>/tenants/<tenant id>/.
TENANT_SPOOLS = "tenants"
BUSY_TIMEOUT_SECONDS = 2.0

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value NOT NULL)",
    "CREATE TABLE IF NOT EXISTS frames (id INTEGER PRIMARY KEY AUTOINCREMENT, body BLOB NOT NULL)",
    "INSERT OR IGNORE INTO meta VALUES ('format', '" + FORMAT + "')",
    "INSERT OR IGNORE INTO meta VALUES ('bytes', 0)",
)


# Appends stop while the file system has less free space than this, so that deleting what was
# delivered (which writes a few pages to the WAL first) still works on a disk filled by the spool.
DISK_HEADROOM = 256 << 10


class DiskFull(Exception):
    """The spool's file system is (nearly) full: the frame was not written."""


class NotASpool(Exception):
    """A file in the spool directory that is not a readable spool of this package."""


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, ``synchronous=NORMAL``."""
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


def _locked(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class SpoolFile:
    """One spool database and the locked descriptor that makes it ours."""

    def __init__(self, path: Path, lock_fd: int) -> None:
        self.path = path
        self.lock_fd = lock_fd

    @classmethod
    def create(cls, directory: Path) -> SpoolFile:
        """A new, empty spool of this process, locked."""
        name = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"
        temp = directory / f"{TEMP_PREFIX}{name}"
        fd = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        connection = sqlite3.connect(temp, isolation_level=None)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            for statement in _SCHEMA:
                connection.execute(statement)
        finally:
            connection.close()
        final = directory / f"{name}{SUFFIX}"
        os.rename(temp, final)
        return cls(final, fd)

    @classmethod
    def adopt(cls, path: Path) -> SpoolFile | None:
        """``path`` locked by us if its owner is gone; None while a live process holds it.

        Raises :class:`NotASpool` (with the lock released) for a file that is not a spool."""
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return None  # delivered and removed by its adopter meanwhile
        if not _locked(fd) or os.fstat(fd).st_ino != _inode(path):
            os.close(fd)  # held by a live process, or replaced since it was listed
            return None
        try:
            check_format(path)
        except NotASpool:
            os.close(fd)
            raise
        return cls(path, fd)

    def remove(self) -> None:
        """Delete the files (with every connection to them closed) and end the lease."""
        for name in (self.path.name, *(self.path.name + c for c in COMPANIONS)):
            with contextlib.suppress(FileNotFoundError):
                (self.path.parent / name).unlink()
        self.release()

    def release(self) -> None:
        # only after every SQLite connection of this process to the file is closed: closing any
        # descriptor of a file drops the process's POSIX locks on it, SQLite's included
        with contextlib.suppress(OSError):
            os.close(self.lock_fd)


def _inode(path: Path) -> int:
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return -1


def check_format(path: Path) -> None:
    """Raise :class:`NotASpool` unless ``path`` is a spool database of this format."""
    if path.stat().st_size == 0:
        raise NotASpool("empty file")
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_SECONDS)
        try:
            row = connection.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise NotASpool(f"{type(exc).__name__}: {exc}") from None
    if row is None or row[0] != FORMAT:
        raise NotASpool(f"format {row[0] if row else None!r}, expected {FORMAT!r}")


class SpoolWriter:
    """Appends frames to a spool, bounded by the bytes of frames it holds."""

    def __init__(self, path: Path, max_bytes: int, headroom: int = DISK_HEADROOM) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.headroom = headroom
        self._connection = connect(path)

    def append(self, frame: bytes) -> bool:
        """True once the frame is committed; False when it does not fit. Raises :class:`DiskFull`,
        ``sqlite3.Error`` (I/O error, or the disk filled by others meanwhile)."""
        disk = os.statvfs(self.path)
        free = disk.f_bavail * disk.f_frsize
        if free - len(frame) < self.headroom:
            raise DiskFull(f"{free >> 10} KiB free on the spool's file system")
        connection = self._connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            (used,) = connection.execute("SELECT value FROM meta WHERE key = 'bytes'").fetchone()
            if used + len(frame) > self.max_bytes:
                connection.execute("ROLLBACK")
                return False
            connection.execute("INSERT INTO frames (body) VALUES (?)", (frame,))
            connection.execute("UPDATE meta SET value = value + ? WHERE key = 'bytes'", (len(frame),))
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return True

    def close(self) -> None:
        self._connection.close()


class SpoolReader:
    """Reads a spool's frames in order and deletes them once delivered."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._connection = connect(path)

    def first(self, limit: int) -> list[tuple[int, bytes]]:
        return list(self._connection.execute("SELECT id, body FROM frames ORDER BY id LIMIT ?", (limit,)))

    def delete_through(self, last_id: int, size: int) -> None:
        connection = self._connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.execute("DELETE FROM frames WHERE id <= ?", (last_id,))
            connection.execute("UPDATE meta SET value = max(0, value - ?) WHERE key = 'bytes'", (size,))
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise

    def size(self) -> tuple[int, int]:
        """Frames held and their bytes (the writer's bound)."""
        (rows,) = self._connection.execute("SELECT count(*) FROM frames").fetchone()
        (used,) = self._connection.execute("SELECT value FROM meta WHERE key = 'bytes'").fetchone()
        return int(rows), int(used)

    def count(self) -> int:
        (rows,) = self._connection.execute("SELECT count(*) FROM frames").fetchone()
        return int(rows)

    def close(self) -> None:
        self._connection.close()


class SpoolDirectory:
    """Finds the spools of dead processes in the directory; reports every other file once."""

    def __init__(self, directory: Path, problems: ProblemLog) -> None:
        self.directory = directory
        self.problems = problems
        self._reported: set[str] = set()

    def orphans(self, own: Path) -> Iterator[SpoolFile]:
        """Spools no live process holds, oldest first, each locked by us when yielded."""
        try:
            entries = sorted(self.directory.iterdir(), key=_mtime)
        except OSError as exc:
            self._report_once(str(self.directory), f"cannot list SIGIL_SPOOL_DIR {self.directory}: {exc}")
            return
        for path in entries:
            name = path.name
            if path == own or name.startswith(TEMP_PREFIX) or name.endswith(tuple(SUFFIX + c for c in COMPANIONS)):
                continue
            if name == TENANT_SPOOLS and path.is_dir():  # the tenants' spools: their own senders adopt them
                continue
            if not name.endswith(SUFFIX) or not path.is_file():
                self._report_once(name, f"SIGIL_SPOOL_DIR holds {name!r}, which is not a spool file; skipped")
                continue
            if name in self._reported:
                continue
            try:
                spool = SpoolFile.adopt(path)
            except (NotASpool, OSError) as exc:
                self._report_once(name, f"spool file {name!r} is unreadable ({exc}); skipped, left in place")
                continue
            if spool is not None:
                yield spool

    def _report_once(self, name: str, message: str) -> None:
        if name not in self._reported:
            self._reported.add(name)
            self.problems.report(f"spool:skipped:{name}", message)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
