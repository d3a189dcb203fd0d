"""The class benchmark's machinery (bench/bench_class.py runs it): the server as `make run`
starts it, its memory sampled, the two kinds of simulated student (a websocket client, a chromium
context) and a wave of N of them spread over a few seconds."""

from __future__ import annotations

import asyncio
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for p in (str(ROOT), str(ROOT / "bench")):
    if p not in sys.path:
        sys.path.insert(0, p)

from bench.bench_pages import _free_port  # noqa: E402

try:  # the browser tests' chromium and its flags
    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
except Exception:  # noqa: BLE001 - pytest missing: the same values
    CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# every context is one student's foreground tab: no throttling of "background" pages
BROWSER_ARGS = [*CHROMIUM_ARGS, "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                "--disable-backgrounding-occluded-windows"]
VIEWPORT = {"width": 1280, "height": 800}

ALL_PAGES = ("model", "llm", "amp", "qat", "tensor", "formats", "bits", "learn", "cost")
# the page's main content: CSS selectors that must match a rendered element, a heading, a text in the main area
MARKERS = {
    "model": {"text": "Without a per-layer mix"},
    "llm": {"text": "Position in the reference's text"},
    "amp": {"heading": "5. FP16 vs BF16"},
    "qat": {"heading": "Quantization families"},
    "tensor": {"sel": ["table.tl-metrics", ".js-plotly-plot"]},
    "formats": {"heading": "Key takeaways", "sel": [".js-plotly-plot"]},
    "bits": {"heading": "The same input in every format"},
    "learn": {"heading": "Learn: the notes", "sel": [".katex"]},
    "cost": {"heading": "Measured here, live", "sel": [".js-plotly-plot"]},
}
TARGET_FIRST_MS = 3000  # p95 of a first render (cold)
TARGET_CACHED_MS = 1000  # p95 of a cached default (warm)
TARGET_INTERACTION_MS = 500
SPREAD_S = 10.0
MIB = 1 << 20

# Installed in every document of a session's context before the app's scripts: watches the DOM and
# records (Date.now(), the wall clock) the frame painted once the page is idle and its content shown.
WATCH = """(M) => {
  const q = window.__qlab = {ready: 0, painted: 0, exc: false, run0: 0};
  const hasText = (root, t) => root && root.textContent.includes(t);
  function ok() {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app) return false;
    if (document.querySelector('[data-testid="stException"]')) q.exc = true;
    if (app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
    if (q.exc) return true;  // an exception instead of the content: done, counted as an error
    for (const s of (M.sel || [])) { const e = document.querySelector(s); if (!e || !e.getClientRects().length) return false; }
    const main = document.querySelector('[data-testid="stMain"]') || document.body;
    if (M.heading && ![...main.querySelectorAll('h1,h2,h3,h4')].some(h => h.textContent.includes(M.heading))) return false;
    if (M.text && !hasText(main, M.text)) return false;
    return true;
  }
  let pending = false, obs = null;
  function check() {
    pending = false;
    if (q.ready) return;
    if (ok()) {
      q.ready = Date.now();
      if (obs) obs.disconnect();
      requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(() => { q.painted = Date.now(); }, 0)));
    }
  }
  function schedule() { if (!pending && !q.ready) { pending = true; setTimeout(check, 25); } }
  const start = () => {
    obs = new MutationObserver(() => {
      if (!q.run0) {  // the first script run starts: the bundle is loaded and the websocket open
        const a = document.querySelector('[data-testid="stApp"]');
        if (a && a.getAttribute('data-test-script-state') === 'running') q.run0 = Date.now();
      }
      schedule();
    });
    obs.observe(document.documentElement, {subtree: true, childList: true, attributes: true, characterData: true});
    schedule();
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
  setInterval(schedule, 250);
}"""
PAINTED_AFTER_ACTION = "() => (window.__st || []).some(([s]) => s === 'painted')"


def now_ms() -> float:
    return time.time() * 1e3


# ============================================================================ the server
class Server:
    """``tools/serve.py`` in its own process group, its output (with warm.py's) read line by line."""

    def __init__(self, cache_dir: Path, log_path: Path, *, warm: bool = True) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "QLAB_CACHE_DIR": str(cache_dir), "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", "MPLBACKEND": "Agg"}
        env.pop("QLAB_WARM", None)
        if not warm:
            env["QLAB_WARM"] = "0"
        self.t_start = time.monotonic()
        self.proc = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable,
             "tools/serve.py", "--server.port", str(self.port), "--server.address", "127.0.0.1"],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.log = open(log_path, "w", encoding="utf-8", errors="replace")  # noqa: SIM115
        self.lines: list[tuple[float, str]] = []
        self.warm: dict[str, tuple[float, str]] = {}  # page -> (monotonic time, its line)
        self.warm_done = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            t = time.monotonic()
            self.lines.append((t, line))
            self.log.write(f"{t - self.t_start:8.2f} {line}\n")
            self.log.flush()
            if line.startswith("warm: /"):  # a page's defaults
                self.warm[line[7:].split()[0]] = (t, line)
            elif line.startswith("warm: choices /"):  # every value of a preset widget: "/amp amp_preset"
                self.warm[" ".join(line[15:].split()[:2]).rstrip(":")] = (t, line)
            elif line.startswith("warm: done"):
                self.warm_done.set()

    def warm_state(self) -> str:
        """Where the warm-up is: "done (t+N s)", "defaults done (t+N s), choices running", "running"."""
        if ALL_PAGES[-1] not in self.warm:
            return "running"
        t = f"t+{self.warm[ALL_PAGES[-1]][0] - self.t_start:.0f} s"
        return f"done ({t})" if self.warm_done.is_set() else f"defaults done ({t}), choices running"

    def wait_healthy(self, timeout: float = 90) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited with {self.proc.returncode}; see its log")
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        return time.monotonic() - self.t_start
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"the server did not answer its health check in {timeout:.0f} s")

    def tracebacks(self, t0: float, t1: float) -> int:
        return sum(1 for t, line in self.lines if t0 <= t <= t1 and "Traceback" in line)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # whatever is left of the group (warm.py)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self.log.close()


class Memory(threading.Thread):
    """RSS of the server process and of its whole process tree, every ``period`` s; and, every
    second, the CPU seconds used by processes outside this benchmark's tree (other work on the
    machine, which changes these numbers)."""

    def __init__(self, pid: int, period: float = 0.2) -> None:
        super().__init__(daemon=True)
        import psutil

        self.psutil = psutil
        self.proc = psutil.Process(pid)
        self.period = period
        self.samples: list[tuple[float, int, int]] = []  # (monotonic, server RSS, tree RSS)
        self.outside: list[tuple[float, float]] = [(time.monotonic(), 0.0)]  # (monotonic, CPU s so far)
        self._seen: dict[int, float] = {}
        self._t_boot = time.time()
        self.stopped = threading.Event()
        self._look_outside()

    def _look_outside(self) -> None:
        ps = self.psutil
        me = ps.Process()
        try:
            ours = {me.pid, *(c.pid for c in me.children(recursive=True))}
        except ps.Error:
            ours = {me.pid}
        used = 0.0
        for p in ps.process_iter(["pid", "cpu_times", "create_time"]):
            info = p.info
            if info["pid"] in ours or info["cpu_times"] is None:
                continue
            t = info["cpu_times"].user + info["cpu_times"].system
            if info["pid"] in self._seen:
                used += max(0.0, t - self._seen[info["pid"]])
            elif self.outside[1:] and (info["create_time"] or 0) >= self._t_boot:
                used += t  # started during the run
            self._seen[info["pid"]] = t
        self.outside.append((time.monotonic(), self.outside[-1][1] + used))

    def run(self) -> None:
        ps = self.psutil
        k = 0
        while not self.stopped.is_set():
            t = time.monotonic()
            try:
                main = self.proc.memory_info().rss
            except ps.Error:
                return
            tree = main
            try:
                for c in self.proc.children(recursive=True):
                    try:
                        tree += c.memory_info().rss
                    except ps.Error:
                        pass
            except ps.Error:
                pass
            self.samples.append((t, main, tree))
            k += 1
            if k % 5 == 0:
                self._look_outside()
            self.stopped.wait(self.period)

    def now(self) -> tuple[int, int]:
        time.sleep(self.period * 1.5)
        _t, main, tree = self.samples[-1]
        return main, tree

    def peak(self, t0: float, t1: float) -> tuple[int, int]:
        inside = [s for s in self.samples if t0 <= s[0] <= t1] or self.samples[-1:]
        return max(s[1] for s in inside), max(s[2] for s in inside)

    def outside_cpu(self, t0: float, t1: float) -> float:
        """CPU s of other processes between t0 and t1 (at 1 s resolution)."""
        def at(t: float) -> float:
            before = [c for tt, c in self.outside if tt <= t]
            return before[-1] if before else 0.0

        return at(t1) - at(t0)


# ============================================================================ sessions
@dataclass
class Session:
    kind: str = "chromium"  # or "ws": a websocket client
    ms: float | None = None  # chromium: goto -> painted; ws: first request -> script finished; None: not in time
    part_ms: float | None = None  # chromium: goto -> first script run started; ws: the page and the frame's files fetched
    script_ms: float | None = None  # ws: from then to the server's script_finished (websocket opened, script run)
    exc: bool = False
    failure: str = ""


@dataclass
class Wave:
    page: str
    sessions: list[Session] = field(default_factory=list)
    t0: float = 0.0
    t1: float = 0.0
    peak: tuple[int, int] = (0, 0)
    tracebacks: int = 0
    warm_before: str = ""
    cpu: dict = field(default_factory=dict)  # seconds: server, warm-up, chromium, this script

    def of(self, kind: str) -> list[Session]:
        return [s for s in self.sessions if s.kind == kind]


def nearest_rank(values: list[float], p: float) -> float:
    """The p-th percentile by nearest rank (no interpolation; inf stays inf)."""
    xs = sorted(values)
    return xs[max(0, math.ceil(p / 100 * len(xs)) - 1)]


def times(sessions: list[Session]) -> list[float]:
    return [s.ms if s.ms is not None else float("inf") for s in sessions]


# ---------------------------------------------------------------------------- chromium
async def new_watched(browser, marker: dict, assets: set | None = None, origin: str = ""):
    ctx = await browser.new_context(viewport=VIEWPORT)
    await ctx.add_init_script(script=f"({WATCH})({json.dumps(marker)})")
    if assets is not None:  # what a fresh browser fetches for this page, for the websocket clients
        def seen(req) -> None:
            if req.url.startswith(origin) and "/_stcore/stream" not in req.url:
                assets.add(req.url[len(origin):] or "/")

        ctx.on("request", seen)
    page = await ctx.new_page()
    return ctx, page


async def open_session(browser, url: str, marker: dict, timeout_s: float, contexts: list, assets: set | None = None, origin: str = "") -> Session:
    """One student in chromium: a fresh context, ``goto``, wait until painted (or the timeout)."""
    s = Session("chromium")
    try:
        ctx, page = await new_watched(browser, marker, assets, origin)
    except Exception as e:  # noqa: BLE001
        s.failure = f"context: {type(e).__name__}"
        return s
    contexts.append(ctx)
    t0 = now_ms()
    try:
        await page.goto(url, wait_until="commit", timeout=timeout_s * 1e3)
        left = max(1.0, timeout_s - (now_ms() - t0) / 1e3)
        await page.wait_for_function("() => window.__qlab && window.__qlab.painted", polling=100, timeout=left * 1e3)
        painted, exc, run0 = await page.evaluate("() => [window.__qlab.painted, window.__qlab.exc, window.__qlab.run0]")
        s.ms, s.exc = painted - t0, bool(exc)
        s.part_ms = run0 - t0 if run0 else None
    except Exception as e:  # noqa: BLE001 - a timeout or a crashed page: reported
        s.failure = type(e).__name__
        try:
            s.exc = bool(await page.evaluate("() => !!document.querySelector('[data-testid=\"stException\"]')"))
        except Exception:  # noqa: BLE001
            pass
    return s


# ---------------------------------------------------------------------------- websocket clients
async def http_get_all(host: str, port: int, paths: list[str], lanes: int = 6) -> int:
    """GET every path over ``lanes`` keep-alive connections, as a browser does; bytes received."""
    todo = list(paths)
    got = 0

    async def lane() -> None:
        nonlocal got
        reader = writer = None
        try:
            while todo:
                path = todo.pop(0)
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                writer.write((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: */*\r\n"
                              "Accept-Encoding: gzip, deflate, br, zstd\r\nConnection: keep-alive\r\n\r\n").encode())
                await writer.drain()
                await reader.readline()  # status line
                headers = {}
                while True:
                    line = await reader.readline()
                    if line in (b"\r\n", b"\n", b""):
                        break
                    k, _, v = line.decode("latin-1").partition(":")
                    headers[k.strip().lower()] = v.strip().lower()
                if headers.get("transfer-encoding") == "chunked":
                    while True:
                        size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                                pass
                            break
                        n = len(await reader.readexactly(size + 2)) - 2
                        got += n  # not `got += await ...`: other lanes add to it during the await
                elif "content-length" in headers:
                    n = len(await reader.readexactly(int(headers["content-length"])))
                    got += n
                else:
                    n = len(await reader.read())
                    got += n
                    headers["connection"] = "close"
                if headers.get("connection") == "close":
                    writer.close()
                    reader = writer = None
        finally:
            if writer is not None:
                writer.close()

    await asyncio.gather(*(lane() for _ in range(min(lanes, len(todo)) or 1)))
    return got


async def _drain(ws) -> None:
    try:
        async for _ in ws:
            pass
    except Exception:  # noqa: BLE001 - closed
        pass


async def ws_session(server: Server, page: str, frame: set, page_files: set, timeout_s: float, holders: list) -> Session:
    """One student without a browser, asking the server what a fresh chromium asks of it: the page,
    the frame's files (``frame``: what chromium fetched for the home page, and for this page too if
    a chromium context has loaded it yet), then Streamlit's websocket and the first script run
    exactly as the frontend asks for it (a BackMsg ``rerun_script`` for the page) while the page's
    own files (``page_files`` not in the frame: its element chunks) load beside it, as chromium
    loads them once the elements arrive.  Timed until both are done; the session then stays
    connected (its messages read) until the wave ends."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.asyncio.client import connect

    s = Session("ws")
    t0 = now_ms()
    first = frame & page_files if page_files else frame
    rest = sorted(page_files - first - {f"/{page}"})

    async def script() -> None:
        ws = await connect(server.url.replace("http://", "ws://") + "/_stcore/stream", subprotocols=["streamlit"],
                           origin=server.url, max_size=None, open_timeout=timeout_s)
        holders.append(ws)
        msg = BackMsg()
        msg.rerun_script.query_string = ""
        msg.rerun_script.page_name = page
        await ws.send(msg.SerializeToString())
        while True:
            f = ForwardMsg()
            f.ParseFromString(await ws.recv())
            kind = f.WhichOneof("type")
            if kind == "delta" and f.delta.WhichOneof("type") == "new_element" and f.delta.new_element.WhichOneof("type") == "exception":
                s.exc = True
            elif kind == "page_not_found":
                s.failure = "page not found"
            elif kind == "script_finished" and f.script_finished in (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR):
                break
        s.script_ms = now_ms() - t0 - s.part_ms
        holders.append(asyncio.ensure_future(_drain(ws)))

    try:
        async with asyncio.timeout(timeout_s):
            await http_get_all("127.0.0.1", server.port, [f"/{page}"], lanes=1)
            await http_get_all("127.0.0.1", server.port, sorted(first - {f"/{page}"}))
            s.part_ms = now_ms() - t0
            await asyncio.gather(script(), http_get_all("127.0.0.1", server.port, rest))
            s.ms = now_ms() - t0
    except TimeoutError:
        s.failure = "timeout"
    except Exception as e:  # noqa: BLE001 - reported
        s.failure = f"{type(e).__name__}: {e}"[:120]
    return s


async def close_all(contexts: list) -> None:
    """Close browser contexts, websockets, and cancel drain tasks."""
    async def close(c):
        if isinstance(c, asyncio.Future):
            c.cancel()
        else:
            await c.close()

    await asyncio.gather(*(close(c) for c in contexts), return_exceptions=True)
    contexts.clear()


# ---------------------------------------------------------------------------- CPU accounting
def cpu_snapshot(server: Server) -> dict[int, tuple[str, float]]:
    """CPU seconds so far of the server, the warm-up, chromium (and Playwright's driver), this script."""
    import psutil

    out = {}
    me = psutil.Process()
    for p in [me, *me.children(recursive=True)]:
        try:
            if p.pid == me.pid:
                kind = "script"
            elif os.getpgid(p.pid) == server.proc.pid:
                kind = "server" if p.pid == server.proc.pid else "warm-up"
            else:
                kind = "chromium"
            t = p.cpu_times()
            out[p.pid] = (kind, t.user + t.system)
        except (psutil.Error, OSError):
            pass
    return out


def cpu_delta(a: dict, b: dict) -> dict[str, float]:
    out = {"server": 0.0, "warm-up": 0.0, "chromium": 0.0, "script": 0.0}
    for pid, (kind, t) in b.items():
        out[kind] += t - a.get(pid, (kind, 0.0))[1]
    return out


def renice_browser(server: Server, nice: int = 10) -> None:
    """chromium and Playwright's driver below the server (as warm.py is): the students' browsers run
    on their own machines, so here they get what the server leaves."""
    import psutil

    for p in psutil.Process().children(recursive=True):
        try:
            if os.getpgid(p.pid) != server.proc.pid and p.nice() < nice:
                p.nice(nice)
        except (psutil.Error, OSError):
            pass


def chromium_indices(n: int, k: int) -> set[int]:
    """Which of the n sessions of a wave are chromium contexts: k of them, evenly spread, the first one included."""
    k = max(0, min(k, n))
    if k == 0:
        return set()
    if k == 1:
        return {0}
    return {round(j * (n - 1) / (k - 1)) for j in range(k)}


async def wave(browser, server: Server, mem: Memory, page: str, n: int, k: int, timeout_s: float, assets: dict) -> Wave:
    """``n`` sessions open ``/page`` spread uniformly over SPREAD_S (``k`` in chromium, the others
    websocket clients); all stay connected until the last one has finished (or timed out), then all
    are closed."""
    w = Wave(page, warm_before=server.warm_state())
    renice_browser(server)
    held: list = []
    in_chromium = chromium_indices(n, k)
    seen = assets.setdefault(page, set())
    cpu0 = cpu_snapshot(server)
    w.t0 = time.monotonic()

    async def one(i: int) -> Session:
        await asyncio.sleep(i * SPREAD_S / max(1, n - 1) if n > 1 else 0)
        if i in in_chromium:
            return await open_session(browser, f"{server.url}/{page}", MARKERS[page], timeout_s, held, seen, server.url)
        return await ws_session(server, page, assets["/"], seen, timeout_s, held)

    w.sessions = list(await asyncio.gather(*(one(i) for i in range(n))))
    w.t1 = time.monotonic()
    w.cpu = cpu_delta(cpu0, cpu_snapshot(server))
    w.peak = mem.peak(w.t0, w.t1)
    await asyncio.sleep(1.1)  # the next look at the other processes
    w.cpu["others"] = mem.outside_cpu(w.t0, w.t1 + 1)
    await close_all(held)
    w.tracebacks = server.tracebacks(w.t0, time.monotonic())
    return w
