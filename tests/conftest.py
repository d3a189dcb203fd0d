"""Shared pytest setup.

pytest-playwright wipes its --output folder (test-results/) at the start of *every* pytest
session, a unit-test run included, which deletes the screenshots of the last e2e run.
This no-op override keeps test-results/ for non-browser runs; tests/e2e/conftest.py
restores the cleaning for browser runs, which write fresh screenshots.
"""

import os
import tempfile

import pytest

# The shared result cache (lab.core.results) on disk: a fresh folder for every test process, so
# a run never reads what an earlier run (or an earlier code version) stored.
os.environ["QLAB_CACHE_DIR"] = tempfile.mkdtemp(prefix="qlab-test-cache-")
os.environ.setdefault("QLAB_WARM", "0")
# .streamlit/config.toml hides error details from users; the tests read them (AppTest and the
# e2e servers, which inherit this environment)
os.environ["STREAMLIT_CLIENT_SHOW_ERROR_DETAILS"] = "full"


@pytest.fixture(scope="session", autouse=True)
def delete_output_dir():
    """Overrides pytest-playwright's fixture of the same name: keep test-results/."""
    return None
