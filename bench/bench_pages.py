"""Benchmark: how long the pages take in a real browser, end to end.

    python bench/bench_pages.py [--schemes int4:block=64 mxfp4 ...] [--write bench/README_pages.md]

Starts ``streamlit run app.py`` on a free loopback port and drives Debian's chromium through
Playwright (as the browser tests do), then measures, in the page itself (a MutationObserver on
Streamlit's ``data-test-script-state`` and two animation frames after it turns ``notRunning``):

* Tensor Lab with a 16 Mi-element float32 tensor (``gaussian_weights``, size 16M): each
  scheme typed into the scheme box and Enter, until the page has re-rendered; a chart option
  only (the log count axis); the standard presets compared; then a second tensor opened with
  the default comparison (every preset), and each compared preset picked as the scheme (its
  analysis was made by the comparison: nothing is quantized again);
* the two training pages on their first visit (training live, then the results) and on a
  second visit (served from the cache).

Server and browser share this machine's cores, as they do in the tests; a user's browser runs
on their own machine.  Run it on a quiet machine: other processes change these numbers a lot.
This is a benchmark, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import write_section  # noqa: E402  (bench/ is the script's directory)

from quantlib import PRESETS  # noqa: E402

PICKS = [p for p in PRESETS if p != "nf4:block=64"]  # the default scheme is the current one already
SCHEMES = ["int4:block=64", "mxfp4", "float8_e4m3fn:scaled", "nvfp4", "int8", "bfloat16", "nf4:block=64,dq", "mxfp6_e2m3", "float16", "nf4:block=128"]
LONG = 180_000  # ms

OBSERVER = """() => {
  window.__st = []; window.__t0 = performance.now();
  if (window.__obs) return;
  const app = document.querySelector('[data-testid="stApp"]');
  window.__obs = new MutationObserver(() => {
    const s = app.getAttribute('data-test-script-state');
    window.__st.push([s, performance.now()]);
    if (s === 'notRunning') requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(() => window.__st.push(['painted', performance.now()]), 0)));
  });
  window.__obs.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server():
    port = _free_port()
    log = open(os.devnull, "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return proc, url
        except OSError:
            time.sleep(0.25)
    proc.terminate()
    raise SystemExit("streamlit did not start in 60 s")


def _idle(page, expect) -> None:
    expect(page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]')).to_have_count(1, timeout=LONG)


def _timed(page, expect, action) -> tuple[float, float]:
    """(ms until the script finished, ms until the page was painted after it), from the action.
    Waits on the observer's own record, not on a locator: a rerun of 50 ms can start and end
    between two polls of ``expect``."""
    page.evaluate(OBSERVER)
    action()
    page.wait_for_function("() => (window.__st || []).some(([s]) => s === 'painted')", polling=20, timeout=LONG)
    ev = page.evaluate("() => window.__st.map(([s, t]) => [s, t - window.__t0])")
    done = [t for s, t in ev if s == "notRunning"]
    painted = [t for s, t in ev if s == "painted"]
    _idle(page, expect)
    return done[-1], painted[-1]


def _open_tensor(page, expect, url: str) -> float:
    """Open a Tensor Lab URL and wait until its metrics are shown and the page is idle: seconds."""
    t0 = time.perf_counter()
    page.goto(url)
    expect(page.locator("table.tl-metrics")).to_be_visible(timeout=LONG)
    _idle(page, expect)
    return time.perf_counter() - t0


def _scheme_changes(page, expect, schemes, what: str) -> str:
    """Type each scheme into the scheme box and press Enter: the painted times, as a table cell."""
    box = page.get_by_role("textbox", name="Scheme string")
    paints = []
    for s in schemes:
        box.fill(s)  # focuses the box: Enter goes to it
        done, painted = _timed(page, expect, lambda: page.keyboard.press("Enter"))
        paints.append(painted)
        print(f"  {what} {s:24s} script done {done:5.0f} ms, painted {painted:5.0f} ms", flush=True)
    return f"median {statistics.median(paints):.0f} ms, range {min(paints):.0f}–{max(paints):.0f} ms"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--schemes", nargs="+", default=SCHEMES)
    ap.add_argument("--write", type=Path, help="put the results table into this markdown file")
    args = ap.parse_args()
    from playwright.sync_api import expect, sync_playwright

    chromium = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    proc, url = _server()
    rows: list[tuple[str, str]] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 1600})
            page.goto(url + "/")
            _idle(page, expect)

            seconds = _open_tensor(page, expect, url + "/tensor?sample=gaussian_weights&size=16M&compare=none")
            rows.append(("Tensor Lab, 16M: first open (generate, hash, quantize, plotly import)", f"{seconds:.2f} s"))
            cell = _scheme_changes(page, expect, args.schemes, "scheme")
            rows.append((f"Tensor Lab, 16M: one scheme change ({len(args.schemes)} schemes), painted", cell))
            log_toggle = page.get_by_text("Log count axis", exact=True)
            if log_toggle.count():
                _d, painted = _timed(page, expect, lambda: log_toggle.click())
                rows.append(("Tensor Lab, 16M: a chart option only (log count axis)", f"{painted:.0f} ms"))
            _d, painted = _timed(page, expect, lambda: page.get_by_role("button", name="Standard presets").click())
            rows.append(("Tensor Lab, 16M: the standard presets compared", f"{painted / 1e3:.2f} s"))

            # another tensor (seed 1), opened with the default comparison (every preset): picking a
            # compared scheme reuses the analysis the comparison made
            seconds = _open_tensor(page, expect, url + "/tensor?sample=gaussian_weights&size=16M&seed=1")
            rows.append((f"Tensor Lab, 16M: first open comparing the {len(PRESETS)} presets", f"{seconds:.2f} s"))
            cell = _scheme_changes(page, expect, PICKS, "compared scheme")
            rows.append((f"Tensor Lab, 16M: picking a compared scheme ({len(PICKS)} presets), painted", cell))

            for path, heading, label in (
                ("/amp", "5. FP16 vs BF16", "Mixed precision training: default runs (5 networks)"),
                ("/qat", "Quantization families", "Quantization-aware training: default study"),
            ):
                for visit in ("first visit (trains live)", "second visit (cached)"):
                    t0 = time.perf_counter()
                    page.goto(url + path)
                    expect(page.get_by_role("heading", name=heading).first).to_be_visible(timeout=LONG)
                    _idle(page, expect)
                    rows.append((f"{label}: {visit}", f"{time.perf_counter() - t0:.2f} s"))
                    print(f"  {path} {visit}: {rows[-1][1]}", flush=True)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(10)

    cpu = platform.processor() or platform.machine()
    head = f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f} at the end"
    table = "\n".join(["| what | time |", "|---|---|"] + [f"| {a} | {b} |" for a, b in rows])
    text = f"{head}\n\n{table}"
    print(text)
    if args.write:
        write_section(args.write, "pages", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
