"""A class's first visits, the frontend's files only: Streamlit's own static serving against
``tools/static_cache.py`` (from memory, gzipped once), side by side in one run.

    python bench/bench_static.py [--page /tensor] [--clients 1 10 40] [--write bench/README_static.md]

One chromium visit records the page's static files; then, for each server (``tools/serve.py``
with ``QLAB_GZIP_STATIC=0``, then with the cache), waves of N simulated browsers fetch them all at
once (6 keep-alive connections each, ``Accept-Encoding: gzip`` as every browser sends): per
client the wall time to its last byte, the bytes it received, and the server's CPU seconds for the
wave.  Loopback has no bandwidth limit, so the bytes are also turned into the time they take on
a shared classroom link (50 Mbit/s).  Timings are of this machine with clients and server on
the same cores; the ratio is the result.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from _classroom import BROWSER_ARGS, CHROMIUM, Server, http_get_all, nearest_rank  # noqa: E402
from _common import write_section  # noqa: E402

LINK_MBIT = 50.0


def server_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def record_files(url: str, page: str) -> list[str]:
    """The static files one fresh chromium fetches for ``page``."""
    from playwright.async_api import async_playwright

    seen: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        tab = await browser.new_page()
        tab.on("request", lambda r: seen.append(r.url))
        await tab.goto(url + page)
        await tab.wait_for_timeout(10_000)
        await browser.close()
    return sorted({u[len(url):].split("?")[0] for u in seen if u.startswith(url + "/static/")})


async def wave(server: Server, files: list[str], n: int) -> dict:
    async def one() -> tuple[float, int]:
        t0 = time.perf_counter()
        got = await http_get_all("127.0.0.1", server.port, files)
        return time.perf_counter() - t0, got

    cpu0, t0 = server_cpu(server.proc.pid), time.perf_counter()
    res = await asyncio.gather(*(one() for _ in range(n)))
    wall, cpu = time.perf_counter() - t0, server_cpu(server.proc.pid) - cpu0
    times = sorted(t for t, _ in res)
    return dict(n=n, p50=statistics.median(times), p95=nearest_rank(times, 95), wall=wall, cpu=cpu, bytes=res[0][1])


def run_server(label: str, gzip_static: bool, files: list[str], clients: list[int], log) -> dict:
    os.environ["QLAB_GZIP_STATIC"] = "1" if gzip_static else "0"
    server = Server(Path(tempfile.mkdtemp(prefix="qlab-static-")), Path(tempfile.gettempdir()) / f"qlab-static-{'cache' if gzip_static else 'plain'}.log", warm=False)
    try:
        server.wait_healthy()
        t0 = time.perf_counter()
        first = asyncio.run(http_get_all("127.0.0.1", server.port, files))  # a cold server: reads (and compresses) each file once
        cold = time.perf_counter() - t0
        waves = [asyncio.run(wave(server, files, n)) for n in clients]
        log(f"{label}: cold {cold:.2f} s, " + ", ".join(f"{w['n']} clients p95 {w['p95']:.2f} s" for w in waves))
        return dict(label=label, cold=cold, first_bytes=first, waves=waves)
    finally:
        server.stop()


def report(args, files: list[str], runs: list[dict]) -> str:
    a, b = runs
    out = [
        f"Run {dt.datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cores, Python {platform.python_version()}; page {args.page}: "
        f"{len(files)} static files. Server `tools/serve.py` (QLAB_WARM=0) on 127.0.0.1, clients on the same cores.",
        "",
        "| server | bytes per visit | at 50 Mbit/s, one visit / 40 at once | cold server: one visit |"
        + "".join(f" {w['n']} at once: p50 / p95 | server CPU s |" for w in a["waves"]),
        "|---|---|---|---|" + "---|---|" * len(a["waves"]),
    ]
    for r in runs:
        mb = r["waves"][0]["bytes"] / 1e6
        link = mb * 8 / LINK_MBIT
        out.append(
            f"| {r['label']} | {mb:.2f} MB | {link:.1f} s / {40 * link:.0f} s | {r['cold']:.2f} s |"
            + "".join(f" {w['p50']:.2f} / {w['p95']:.2f} s | {w['cpu']:.1f} |" for w in r["waves"])
        )
    ratio = a["waves"][0]["bytes"] / b["waves"][0]["bytes"]
    lines = [f"{w['n']} at once p95 {wa['p95'] / w['p95']:.1f}x faster, server CPU {wa['cpu'] / max(w['cpu'], 1e-3):.1f}x less"
             for wa, w in zip(a["waves"], b["waves"], strict=True)]
    out += ["", f"Reading: the cache sends {ratio:.1f}x fewer bytes; " + "; ".join(lines) + "."]
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--page", default="/tensor")
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 10, 40])
    ap.add_argument("--write", type=Path)
    args = ap.parse_args()

    def log(msg: str) -> None:
        print(msg, flush=True)

    os.environ["QLAB_GZIP_STATIC"] = "0"
    rec = Server(Path(tempfile.mkdtemp(prefix="qlab-static-")), Path(tempfile.gettempdir()) / "qlab-static-record.log", warm=False)
    try:
        rec.wait_healthy()
        files = asyncio.run(record_files(rec.url, args.page))
    finally:
        rec.stop()
    log(f"{args.page}: {len(files)} static files")
    runs = [run_server("Streamlit's static files", False, files, args.clients, log),
            run_server("tools/static_cache.py", True, files, args.clients, log)]
    text = report(args, files, runs)
    print(text)
    if args.write:
        write_section(args.write, "static", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
