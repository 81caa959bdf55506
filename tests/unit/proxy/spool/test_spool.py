"""The disk spool's store and sender with a real SQLite file and a real ``sigil_sdk.Client`` exporting
to a capturing exporter: order, bounds, leases, adoption, foreign and corrupt files."""

from __future__ import annotations

import fcntl
import logging
import os
import pickle
import sqlite3
from pathlib import Path

import pytest

from sigil_sdk_litellm.mapping import MappingOptions
from sigil_sdk_litellm.problem_log import ProblemLog
from sigil_sdk_litellm.proxy.handoff.frames import encode_frame
from sigil_sdk_litellm.proxy.offload.slim_event import slim_event
from sigil_sdk_litellm.proxy.spool.sender import SpoolSender
from sigil_sdk_litellm.proxy.spool.store import DiskFull, SpoolDirectory, SpoolFile, SpoolReader, SpoolWriter
from sigil_sdk_litellm.recording import SdkRecorder
from tests.support import callback_kwargs, capturing_client, chat_response, standard_logging_object


def frame(call_id: str) -> bytes:
    slo = standard_logging_object(id=call_id, response={}, litellm_call_id=call_id)
    kwargs = callback_kwargs(slo, litellm_call_id=call_id)
    return encode_frame(False, False, slim_event(kwargs, chat_response(id=call_id), redacted=False))


def test_frames_are_read_in_order_and_deleted_through_an_id(tmp_path: Path) -> None:
    spool = SpoolFile.create(tmp_path)
    writer, reader = SpoolWriter(spool.path, 1 << 20), SpoolReader(spool.path)
    for n in range(5):
        assert writer.append(f"frame-{n}".encode())
    rows = reader.first(3)
    assert [body for _, body in rows] == [b"frame-0", b"frame-1", b"frame-2"]
    reader.delete_through(rows[-1][0], sum(len(b) for _, b in rows))
    assert [body for _, body in reader.first(10)] == [b"frame-3", b"frame-4"]
    assert reader.count() == 2


def test_the_byte_bound_refuses_new_frames_and_frees_room_when_delivered(tmp_path: Path) -> None:
    spool = SpoolFile.create(tmp_path)
    writer, reader = SpoolWriter(spool.path, 100), SpoolReader(spool.path)
    assert writer.append(b"x" * 60)
    assert not writer.append(b"y" * 60)  # 120 > 100: refused, nothing written
    assert reader.count() == 1
    rows = reader.first(10)
    reader.delete_through(rows[-1][0], 60)
    assert writer.append(b"y" * 60)


def test_a_live_spool_is_never_adopted_and_a_dead_one_by_exactly_one_adopter(tmp_path: Path) -> None:
    problems = ProblemLog()
    live = SpoolFile.create(tmp_path)
    dead = SpoolFile.create(tmp_path)
    SpoolWriter(dead.path, 1 << 20).append(b"left behind")
    dead.release()  # its process is gone: the lock is free
    own = SpoolFile.create(tmp_path)
    first = list(SpoolDirectory(tmp_path, problems).orphans(own.path))
    second = list(SpoolDirectory(tmp_path, problems).orphans(own.path))  # while the first holds it
    assert [o.path for o in first] == [dead.path]
    assert second == []
    assert live.path.exists()
    first[0].remove()
    assert not dead.path.exists()
    assert problems.counts == {}


def test_a_spool_half_made_is_not_visible_and_its_lock_passes_to_a_child(tmp_path: Path) -> None:
    spool = SpoolFile.create(tmp_path)
    assert spool.path.name.endswith(".spool.sqlite3")
    other = os.open(spool.path, os.O_RDWR)
    try:
        with pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(other)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_foreign_and_corrupt_files_are_reported_once_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "notes.txt").write_text("not ours")
    (tmp_path / "broken.spool.sqlite3").write_bytes(b"garbage, not a database" * 100)
    other = sqlite3.connect(tmp_path / "other.spool.sqlite3")
    other.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value)")
    other.execute("INSERT INTO meta VALUES ('format', 'someone-else/9')")
    other.commit()
    other.close()
    own = SpoolFile.create(tmp_path)
    directory = SpoolDirectory(tmp_path, ProblemLog())
    with caplog.at_level(logging.WARNING, logger="sigil_sdk_litellm"):
        assert list(directory.orphans(own.path)) == []
        assert list(directory.orphans(own.path)) == []  # the second scan reports nothing new
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3, lines
    assert any("'notes.txt'" in line and "not a spool file" in line for line in lines)
    assert any("'broken.spool.sqlite3'" in line and "unreadable" in line for line in lines)
    assert any("'other.spool.sqlite3'" in line and "someone-else/9" in line for line in lines)
    assert (tmp_path / "broken.spool.sqlite3").exists()  # left for a person to look at


def test_the_sender_delivers_an_orphan_first_then_its_own_spool_and_deletes_what_was_exported(
    tmp_path: Path,
) -> None:
    orphan = SpoolFile.create(tmp_path)
    SpoolWriter(orphan.path, 1 << 20).append(frame("from-the-last-run"))
    orphan.release()
    own = SpoolFile.create(tmp_path)
    writer = SpoolWriter(own.path, 1 << 20)
    for n in range(3):
        writer.append(frame(f"call-{n}"))
    writer.append(b"\x80not a pickle")  # a damaged frame: skipped, reported
    client, exporter = capturing_client()
    recorder = SdkRecorder(client, MappingOptions())
    sender = SpoolSender(own.path, recorder, None, batch_items=2, poll_interval=0.01)
    sender.stop.set()  # deliver what is there, then return
    sender.run()
    generations = exporter.generations
    assert len(generations) == 4 and len({g.id for g in generations}) == 4
    assert [g.response_id for g in generations] == ["from-the-last-run", "call-0", "call-1", "call-2"]
    assert not orphan.path.exists()
    assert SpoolReader(own.path).count() == 0
    assert recorder.problems.count("spool:frame") == 1


def test_frames_survive_a_sender_that_never_finished(tmp_path: Path) -> None:
    spool = SpoolFile.create(tmp_path)
    SpoolWriter(spool.path, 1 << 20).append(frame("kept"))
    client, _ = capturing_client()
    client.shutdown()  # the client refuses: nothing is handed over, so nothing may be deleted
    sender = SpoolSender(spool.path, SdkRecorder(client, MappingOptions()), None)
    sender.stop.set()
    sender.run()
    assert SpoolReader(spool.path).count() == 1
    assert pickle.loads(SpoolReader(spool.path).first(1)[0][1])[2]


def test_a_nearly_full_disk_refuses_frames_before_sqlite_fails(tmp_path: Path) -> None:
    spool = SpoolFile.create(tmp_path)
    free = os.statvfs(tmp_path).f_bavail * os.statvfs(tmp_path).f_frsize
    writer = SpoolWriter(spool.path, 1 << 20, headroom=free + (1 << 30))  # as if the disk were full
    with pytest.raises(DiskFull, match="free on the spool's file system"):
        writer.append(b"frame")
    assert SpoolReader(spool.path).count() == 0


def test_a_delete_that_fails_is_retried_before_anything_is_sent_again(tmp_path: Path) -> None:
    spool = SpoolFile.create(tmp_path)
    writer = SpoolWriter(spool.path, 1 << 20)
    writer.append(frame("once"))
    client, exporter = capturing_client()
    sender = SpoolSender(spool.path, SdkRecorder(client, MappingOptions()), None)
    reader = SpoolReader(spool.path)
    blocker = sqlite3.connect(spool.path, timeout=0)
    blocker.execute("BEGIN IMMEDIATE")  # holds the write lock: the delete cannot commit
    reader._connection.execute("PRAGMA busy_timeout = 0")
    assert sender._round(reader) == "stalled"
    assert sender._round(reader) == "stalled"  # still locked: the frame is not read or sent again
    blocker.rollback()
    assert sender._round(reader) == "empty"
    assert [g.response_id for g in exporter.generations] == ["once"]
    assert reader.count() == 0
