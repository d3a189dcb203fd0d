"""Real-browser tests: `streamlit run app.py` on a free loopback port, Playwright driving
Debian's chromium (/usr/bin/chromium; never a Playwright-downloaded browser).

Without chromium these tests are skipped, unless E2E_REQUIRED=1 (CI), which turns a
missing browser into a failure.  Screenshots of failures go to test-results/ (run with
--screenshot only-on-failure --output test-results, as `make test` does).

The tests that need no browser state of their own share one tab (``page`` and ``sized_page``,
see :func:`shared_tab`): each still opens its own Streamlit session.  With :func:`settle` instead
of a fixed wait before each screenshot, the whole run takes 270-300 s instead of 490 s on this
2-core machine, most of the difference being chromium's cost of a fresh context per test.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
E2E_DIR = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
SKIP_REASON = "chromium not found (apt-get install -y chromium, or set CHROMIUM_PATH)"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
DEFAULT_VIEWPORT = {"width": 1280, "height": 1600}


def _have_chromium() -> bool:
    return bool(CHROMIUM) and os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)


def pytest_collection_modifyitems(config, items):
    e2e_items = [it for it in items if E2E_DIR in Path(str(it.fspath)).resolve().parents]
    if not e2e_items or _have_chromium():
        return
    if os.environ.get("E2E_REQUIRED") == "1":
        raise pytest.UsageError(f"E2E_REQUIRED=1 but {SKIP_REASON}")
    for it in e2e_items:
        it.add_marker(pytest.mark.skip(reason=SKIP_REASON))


@pytest.fixture(scope="session", autouse=True)
def delete_output_dir(pytestconfig):
    """Start every browser run with an empty --output folder (pytest-playwright's behaviour,
    which tests/conftest.py turns off for runs without a browser)."""
    out = Path(pytestconfig.getoption("--output"))
    if out.is_dir():
        shutil.rmtree(out, ignore_errors=True)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # A tall viewport: Streamlit scrolls an inner container, so full_page screenshots
    # only capture the viewport.
    return {**browser_context_args, "viewport": DEFAULT_VIEWPORT}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def streamlit_server(tmp_path_factory):
    port = _free_port()
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", "MPLBACKEND": "Agg", "QLAB_WARM": "0"}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable, "tools/serve.py",  # as `make run` starts it (QLAB_WARM=0: no warm-up)
                "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port),
                "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
            ],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().decode().strip() == "ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not become healthy in 60 s:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="session")
def base_url(streamlit_server):
    return streamlit_server


def wait_idle(page, timeout: float = 30_000) -> None:
    """Wait until the script has finished running (call after waiting for expected text too:
    right after an interaction this check alone can pass before the rerun starts)."""
    from playwright.sync_api import expect

    expect(page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]')).to_have_count(1, timeout=timeout)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=timeout)


@pytest.fixture(scope="session")
def shared_tab(browser, browser_context_args):
    """``(get, drop)``: one tab for the tests that need no browser state of their own.  Each test
    still gets a new Streamlit session (it navigates the tab to its URL), but the tab's renderer
    keeps the frontend's scripts compiled and cached: a page load costs this machine about
    2 CPU s instead of 3.5 in a fresh context (0.6 s less wall time, /bits).  ``drop()`` closes it;
    the next ``get()`` opens a new one."""
    tab: dict = {}

    def get():
        if "page" not in tab or tab["page"].is_closed():
            tab["context"] = browser.new_context(**browser_context_args)
            tab["page"] = tab["context"].new_page()
        return tab["page"]

    def drop():
        context = tab.pop("context", None)
        tab.pop("page", None)
        if context is not None:
            context.close()

    yield get, drop
    drop()


def _failed(item) -> bool:
    rep = getattr(item, "rep_call", None) or getattr(item, "rep_setup", None)  # set by pytest-playwright
    return rep is None or rep.failed


def _leave(request, pytestconfig, shared_tab) -> None:
    """After a test on the shared tab: end its Streamlit session (about:blank); after a failure,
    save the tab as pytest-playwright would (``--screenshot``) and drop it, so that the next test
    starts in a new one."""
    get, drop = shared_tab
    page = get()
    failed = _failed(request.node)
    if failed and pytestconfig.getoption("--screenshot") in ("on", "only-on-failure"):
        folder = Path(pytestconfig.getoption("--output")) / re.sub(r"[^\w.-]+", "-", request.node.nodeid).strip("-")[:200]
        folder.mkdir(parents=True, exist_ok=True)
        try:
            page.screenshot(path=str(folder / "test-failed-1.png"), full_page=True)
        except Exception:  # noqa: BLE001 - the failure itself is what the report shows
            pass
    if failed:
        drop()
        return
    try:
        page.goto("about:blank")
    except Exception:  # noqa: BLE001 - a tab that cannot even do this is replaced
        drop()


@pytest.fixture
def sized_page(shared_tab, request, pytestconfig):
    """``page = sized_page(390, 12000)``: the shared tab (``base_url``) at that viewport."""

    def make(width: int, height: int):
        tab = shared_tab[0]()
        tab.set_viewport_size({"width": width, "height": height})
        return tab

    yield make
    _leave(request, pytestconfig, shared_tab)


@pytest.fixture
def page(sized_page):
    """pytest-playwright's ``page``, in the shared tab (1280 x 1600, ``base_url``)."""
    return sized_page(DEFAULT_VIEWPORT["width"], DEFAULT_VIEWPORT["height"])


# True once the fonts are loaded and every plotly chart is drawn at its container's width, and the
# charts' sizes and the page's height have stayed the same for SETTLE_MS (Streamlit draws a new
# chart before its width is known, then again at that width).
_SETTLED = """ms => {
  const plots = [...document.querySelectorAll(".js-plotly-plot")];
  const ready = document.fonts.status === "loaded"
    && plots.every(el => el._fullLayout && el.querySelector(".main-svg") && Math.abs(el._fullLayout.width - el.clientWidth) <= 2);
  const main = document.querySelector('[data-testid="stMain"]') || document.body;
  const sig = ready ? JSON.stringify([plots.map(el => [el._fullLayout.width, el._fullLayout.height]), main.scrollHeight]) : "";
  const s = window.__qlabSettle || (window.__qlabSettle = {sig: "", since: 0});
  const now = performance.now();
  if (!sig || sig !== s.sig) { s.sig = sig; s.since = now; return false; }
  return now - s.since >= ms;
}"""
SETTLE_MS = 300


def settle(page, timeout: float = 15_000) -> None:
    """Wait until the charts and fonts are drawn and the page has stopped changing size
    (about 0.3-0.6 s after the script is idle, instead of a fixed 1.5 s)."""
    page.evaluate("() => { delete window.__qlabSettle; }")
    page.wait_for_function(_SETTLED, arg=SETTLE_MS, polling=100, timeout=timeout)


@pytest.fixture
def save_screenshot(pytestconfig):
    """``save_screenshot(page, "tensor-16M-phone")``: check the page shows no exception, let the
    charts, fonts and data grids settle, and save it whole as ``<--output>/screenshots/<name>.png``
    for a person to look at (it is not compared to anything)."""
    from playwright.sync_api import expect

    out = Path(pytestconfig.getoption("--output")) / "screenshots"

    def save(page, name: str) -> Path:
        expect(page.get_by_test_id("stException")).to_have_count(0)
        settle(page)
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
