"""Real-browser tests: `streamlit run app.py` on a free loopback port, Playwright driving
Debian's chromium (/usr/bin/chromium; never a Playwright-downloaded browser).

Without chromium these tests are skipped, unless E2E_REQUIRED=1 (CI), which turns a
missing browser into a failure.  Screenshots of failures go to test-results/ (run with
--screenshot only-on-failure --output test-results, as `make test` does).
"""

from __future__ import annotations

import os
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
    return {**browser_context_args, "viewport": {"width": 1280, "height": 1600}}


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


@pytest.fixture
def sized_page(browser, base_url):
    """``page = sized_page(390, 12000)``: a page in its own browser context with that viewport
    (and ``base_url``), closed after the test."""
    contexts = []

    def make(width: int, height: int):
        context = browser.new_context(viewport={"width": width, "height": height}, base_url=base_url)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def save_screenshot(pytestconfig):
    """``save_screenshot(page, "tensor-16M-phone")``: check the page shows no exception, let the
    charts, fonts and data grids settle, and save it whole as ``<--output>/screenshots/<name>.png``
    for a person to look at (it is not compared to anything)."""
    from playwright.sync_api import expect

    out = Path(pytestconfig.getoption("--output")) / "screenshots"

    def save(page, name: str) -> Path:
        expect(page.get_by_test_id("stException")).to_have_count(0)
        page.wait_for_timeout(1500)
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
