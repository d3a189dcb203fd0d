"""Shared pytest setup.

pytest-playwright wipes its --output folder (test-results/) at the start of *every* pytest
session, a unit-test run included, which deletes the screenshots of the last e2e run.
This no-op override keeps test-results/ for non-browser runs; tests/e2e/conftest.py
restores the cleaning for browser runs, which write fresh screenshots.
"""

import functools
import os
import tempfile
import threading

import pytest

# The shared result cache (lab.core.results) on disk: a fresh folder for every test process, so
# a run never reads what an earlier run (or an earlier code version) stored.
os.environ["QLAB_CACHE_DIR"] = tempfile.mkdtemp(prefix="qlab-test-cache-")
os.environ.setdefault("QLAB_WARM", "0")
# .streamlit/config.toml hides error details from users; the tests read them (AppTest and the
# e2e servers, which inherit this environment)
os.environ["STREAMLIT_CLIENT_SHOW_ERROR_DETAILS"] = "full"


def _one_parse_at_a_time() -> None:
    """Python 3.11's ``ast`` module keeps its recursion depth per interpreter, not per thread:
    two threads parsing at once can fail with "SystemError: AST constructor recursion depth
    mismatch" (CPython gh-106905).  A server has one ScriptCache, whose lock already parses one
    script at a time; every AppTest has its own, so tests that open sessions from several
    threads (tests/test_sessions.py) share this one lock."""
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache

    if getattr(ScriptCache.get_bytecode, "_one_at_a_time", False):
        return
    lock = threading.Lock()
    inner = ScriptCache.get_bytecode

    @functools.wraps(inner)
    def get_bytecode(self, script_path):
        with lock:
            return inner(self, script_path)

    get_bytecode._one_at_a_time = True
    ScriptCache.get_bytecode = get_bytecode


_one_parse_at_a_time()


@pytest.fixture(scope="session", autouse=True)
def delete_output_dir():
    """Overrides pytest-playwright's fixture of the same name: keep test-results/."""
    return None
