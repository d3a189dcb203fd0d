"""The deployment tests: two `streamlit run app.py` replicas behind Debian's nginx running
deploy/nginx.conf (loopback addresses only, no container engine), driven by Playwright with
Debian's chromium (/usr/bin/chromium; never a Playwright-downloaded browser).

Without nginx or chromium these tests are skipped, unless E2E_REQUIRED=1 (CI), which turns a
missing tool into a failure (apt-get install -y nginx chromium).
"""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
NGINX = os.environ.get("NGINX_PATH") or shutil.which("nginx") or "/usr/sbin/nginx"
# as tests/e2e/conftest.py
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _executable(path: str) -> bool:
    return bool(path) and os.path.isfile(path) and os.access(path, os.X_OK)


@pytest.fixture(scope="session", autouse=True)
def deploy_tools():
    """Skip (fail under E2E_REQUIRED=1) before any browser is launched when a tool is missing."""
    missing = [f"{name} ({path})" for name, path in (("nginx", NGINX), ("chromium", CHROMIUM)) if not _executable(path)]
    if missing:
        reason = f"not found: {', '.join(missing)} (apt-get install -y nginx chromium, or set NGINX_PATH / CHROMIUM_PATH)"
        if os.environ.get("E2E_REQUIRED") == "1":
            pytest.fail(f"E2E_REQUIRED=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    return {"nginx": NGINX, "chromium": CHROMIUM}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, deploy_tools):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 1200}}
