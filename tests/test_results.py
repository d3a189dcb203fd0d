"""The shared result cache (lab.core.persist, lab.core.results): the codec carries what the pages
store and nothing it should not; disk entries are bounded, atomic, versioned and never trusted;
one key is computed once however many sessions (threads) or processes ask; queued work can be
cancelled and is dropped when nobody waits; a job's place in the queue is reported."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from lab.core import persist, results
from lab.core.persist import DiskStore, NotPersistable, canonical_key
from lab.core.results import Cancelled, ResultService

ROOT = Path(__file__).resolve().parents[1]


@dataclasses.dataclass(frozen=True)
class Local:  # not in quantlib/lab: refused
    x: int


def test_codec_round_trips_what_pages_store():
    from quantlib.train.qat import QATSettings

    value = {
        "ints": (1, -2, 10**30), "bool": True, "none": None, "nan": math.nan, "inf": -math.inf, "text": "量化 <b>",
        ("tuple", 3): [np.arange(5, dtype=np.int16), np.float32(1.5), np.zeros((2, 0))],
        4: {"nested": [np.array([np.nan, 1.0]), ()]}, "settings": QATSettings(bits=(8, 2)),
    }
    back = persist.roundtrip(value)
    assert list(back) == list(value)
    assert back["ints"] == (1, -2, 10**30) and back["bool"] is True and back["none"] is None
    assert math.isnan(back["nan"]) and back["inf"] == -math.inf and back["text"] == "量化 <b>"
    arr, scalar, empty = back[("tuple", 3)]
    assert arr.dtype == np.int16 and arr.tolist() == [0, 1, 2, 3, 4]
    assert isinstance(scalar, np.float32) and scalar == 1.5 and empty.shape == (2, 0)
    assert np.isnan(back[4]["nested"][0][0]) and back[4]["nested"][1] == ()
    assert back["settings"] == QATSettings(bits=(8, 2)) and type(back["settings"]) is QATSettings


@pytest.mark.parametrize("bad", [np.array([object()]), {1, 2}, Local(1), b"bytes", lambda: 0])
def test_codec_refuses_what_it_cannot_carry_safely(bad):
    with pytest.raises(NotPersistable):
        persist.encode(bad, [])


def test_key_digest_is_canonical():
    a = canonical_key("ns", ("x", 1, np.arange(3)), "v1")
    assert a == canonical_key("ns", ("x", 1, np.arange(3)), "v1")
    assert a[1] != canonical_key("ns", ("x", 1, np.arange(4)), "v1")[1]
    assert a[1] != canonical_key("ns", ("x", 1, np.arange(3)), "v2")[1]  # another code version: another entry
    assert a[1] != canonical_key("other", ("x", 1, np.arange(3)), "v1")[1]


def test_disk_entries_are_never_trusted(tmp_path):
    store = DiskStore(tmp_path, max_bytes=1 << 30)
    text, digest = canonical_key("ns", "k", "v")
    assert store.put(digest, text, {"a": np.arange(4)})
    assert store.get(digest, text)["a"].tolist() == [0, 1, 2, 3]
    assert store.get(digest, text.replace('"k"', '"other"')) is DiskStore.MISSING  # stored key differs
    # truncated file: unreadable, deleted, counted
    store.put(digest, text, {"a": np.arange(4)})
    p = store.path(digest)
    p.write_bytes(p.read_bytes()[:-20])
    assert store.get(digest, text) is DiskStore.MISSING and not p.exists() and store.corrupt >= 1
    # a planted entry naming a class outside quantlib/lab (or a pickle) is refused, never imported or unpickled
    meta = json.dumps({"key": text, "n": 0, "value": {"dc": "os:system", "f": {}}}).encode()
    np.savez(p, __meta__=np.frombuffer(meta, dtype=np.uint8))
    assert store.get(digest, text) is DiskStore.MISSING and not p.exists()
    np.save(p.with_suffix(".npy"), np.array([Local(1)], dtype=object), allow_pickle=True)
    p.with_suffix(".npy").rename(p)
    assert store.get(digest, text) is DiskStore.MISSING


def test_disk_is_bounded_least_recently_used_first(tmp_path):
    store = DiskStore(tmp_path, max_bytes=300_000)
    keys = [canonical_key("ns", i, "v") for i in range(5)]
    for i, (text, digest) in enumerate(keys):
        store.put(digest, text, np.zeros(10_000))  # ~80 kB each
        time.sleep(0.01)
        if i == 2:
            time.sleep(0.02)
            store.get(*reversed(keys[0]))  # key 0 used again: now the most recent
    assert store.size() <= 300_000
    alive = [store.get(d, t) is not DiskStore.MISSING for t, d in keys]
    assert alive[0] and alive[4] and not alive[1]


def _service(tmp_path, workers=2, version=None):
    svc = ResultService(root=tmp_path, max_bytes=1 << 30, workers=workers)
    if version:
        svc.version = version
    return svc


def _compute(svc, ns, key, fn):
    job = svc.submit(ns, key, fn)
    return svc.wait(job)


def test_single_flight_across_threads(tmp_path):
    svc = _service(tmp_path)
    calls, gate = [], threading.Event()

    def slow(report):
        calls.append(1)
        gate.wait(5)
        return {"v": np.arange(3)}

    out = []
    threads = [threading.Thread(target=lambda: out.append(_compute(svc, "ns", ("k",), slow))) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join(10)
    assert len(calls) == 1 and len(out) == 8 and all(o["v"].tolist() == [0, 1, 2] for o in out)
    fresh = _service(tmp_path)  # another process's view: the disk
    assert fresh.lookup("ns", ("k",))["v"].tolist() == [0, 1, 2]
    assert _service(tmp_path, version="other").lookup("ns", ("k",)) is DiskStore.MISSING  # stale: not used


CHILD = r"""
import sys, time
sys.path.insert(0, {root!r})
from lab.core.results import ResultService
svc = ResultService(root={root_cache!r}, max_bytes=1 << 30, workers=1)
def fn(report):
    with open({log!r}, "a") as f:
        f.write("computed\n")
    time.sleep(1.0)
    return 42
job = svc.submit("ns", "shared", fn)
print(svc.wait(job))
"""


def test_single_flight_across_processes(tmp_path):
    log = tmp_path / "log.txt"
    code = CHILD.format(root=str(ROOT), root_cache=str(tmp_path / "cache"), log=str(log))
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(3)]
    outs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert outs == ["42"] * 3
    assert log.read_text().count("computed") == 1


def test_unpersistable_results_are_kept_in_memory(tmp_path):
    svc = _service(tmp_path)
    value = _compute(svc, "ns", "obj", lambda report: {Local(1)})
    assert value == {Local(1)} and svc.lookup("ns", "obj") == {Local(1)}
    assert not list(Path(tmp_path).glob("*.npz"))


def test_errors_reach_the_waiter_and_are_not_stored(tmp_path):
    svc = _service(tmp_path)

    def bad(report):
        raise ValueError("no good")

    with pytest.raises(ValueError, match="no good"):
        _compute(svc, "ns", "bad", bad)
    assert svc.lookup("ns", "bad") is DiskStore.MISSING


def test_queue_position_cancel_and_orphans(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "ORPHAN_GRACE", 0.05)
    svc = _service(tmp_path, workers=1)
    gate, started = threading.Event(), threading.Event()

    def blocker(report):
        started.set()
        while not gate.wait(0.02):
            report()  # raises Cancelled once cancelled
        return "first"

    running = svc.submit("ns", "a", blocker)
    assert started.wait(5)
    second = svc.submit("ns", "b", lambda report: "second")
    third = svc.submit("ns", "c", lambda report: "third")
    assert svc.ahead(running) == 0 and svc.ahead(second) == 1 and svc.ahead(third) == 2
    # the third's session cancels: dropped unrun; the second's tab closes: dropped after the grace
    svc.leave(third, cancel=True)
    svc.leave(second)
    time.sleep(0.1)
    gate.set()
    assert svc.wait(running) == "first"
    assert third.done.wait(5) and third.state == "cancelled"
    assert second.done.wait(5) and second.state == "cancelled"
    assert svc.computed == {"ns": 1}
    # a running job stops at its next report once its only waiter cancels
    gate.clear()
    started.clear()
    again = svc.submit("ns", "d", blocker)
    assert started.wait(5)
    svc.leave(again, cancel=True)
    assert again.done.wait(5) and again.state == "cancelled"
    with pytest.raises(Cancelled):
        results.outcome(again)
    # ... but not while another session still waits for it
    started.clear()
    shared = svc.submit("ns", "e", blocker)
    svc.submit("ns", "e", blocker)
    assert started.wait(5)
    svc.leave(shared, cancel=True)
    time.sleep(0.1)
    assert shared.state == "running"
    gate.set()
    assert svc.wait(shared) == "first"


def test_events_reach_every_waiter(tmp_path):
    svc = _service(tmp_path)

    def steps(report):
        for i in range(5):
            report(i)
        return "done"

    seen = []
    results._SERVICE, old = svc, results._SERVICE
    try:
        assert results.compute("ns", "ev", steps, on_event=seen.append) == "done"
        assert seen == [0, 1, 2, 3, 4]
        assert results.compute("ns", "ev", steps, on_event=seen.append) == "done" and len(seen) == 5  # stored: no replay
    finally:
        results._SERVICE = old
