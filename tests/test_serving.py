"""Serving a class: the deployment config is hardened, the uploader's limit is the loader's, a
cancelled run stops its page with a way back, and the warm-up opens pages without errors."""

from __future__ import annotations

import tomllib
from pathlib import Path

from streamlit.testing.v1 import AppTest

from quantlib.tensorio import MAX_FILE_BYTES

ROOT = Path(__file__).resolve().parents[1]


def test_config_is_hardened_for_deployment():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["client"]["showErrorDetails"] in ("none", "type")  # no traceback in a student's browser
    assert cfg["server"]["enableXsrfProtection"] is True and cfg["server"]["enableCORS"] is True
    assert cfg["server"]["maxUploadSize"] == MAX_FILE_BYTES >> 20  # MB, as the loader
    assert cfg["browser"]["gatherUsageStats"] is False
    assert cfg["server"]["headless"] is True and cfg["server"]["fileWatcherType"] == "none"


def test_uploader_states_the_loaders_limit():
    text = (ROOT / "app_pages" / "tensor.py").read_text()
    assert "max_upload_size=MAX_FILE_BYTES >> 20" in text


SCRIPT = """
import streamlit as st
from lab.core.results import compute
calls = st.session_state.setdefault("calls", [])
value = compute("serving_test", ("key", {n}), lambda report: calls.append(1) or 41 + 1)
st.write(f"value {{value}}")
"""


def test_a_cancelled_run_stops_its_page_until_asked_again():
    from lab.core import results

    n = 7001
    digest = results.service()._ident("serving_test", ("key", n))[1]
    at = AppTest.from_string(SCRIPT.format(n=n), default_timeout=30)
    at.session_state[f"qlab_cancelled_{digest}"] = True  # as the Cancel button's callback leaves it
    at.run()
    assert not at.exception
    assert any("You cancelled this run" in i.value for i in at.info)
    assert not any("value" in m.value for m in at.markdown) and at.session_state["calls"] == []
    at.button(key=f"qlab_cancelled_{digest}_again").click().run()
    assert not at.exception
    assert any(m.value == "value 42" for m in at.markdown) and at.session_state["calls"] == [1]
    at.run()  # stored now: not computed again
    assert any(m.value == "value 42" for m in at.markdown) and at.session_state["calls"] == [1]


def test_warm_up_opens_pages_without_errors():
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    import warm

    out = warm.warm(("bits", "learn"), timeout=60)
    assert [p for p, _s, _e in out] == ["bits", "learn"]
    assert all(e == "" for _p, _s, e in out), out
    picked = warm.warm_choices((("bits", "selectbox", "bits_rounding"), ("bits", "toggle", "bits_saturate")), timeout=60)
    from lab.core.state import ROUNDINGS

    assert [(p, k, n, e) for p, k, n, _s, e in picked] == [("bits", "bits_rounding", len(ROUNDINGS) - 1, ""), ("bits", "bits_saturate", 1, "")]
    assert {page for page, _kind, _key in warm.CHOICES} <= set(warm.PAGES)


def test_served_connections_have_no_nagle_delay():
    """tools/serve.py rebinds Streamlit's listening socket as IPPROTO_TCP: asyncio then sets
    TCP_NODELAY on every accepted connection (Streamlit's own socket, proto 0, gets none, and
    each static file on a kept-alive connection waited 40 ms for a delayed ACK)."""
    import asyncio
    import socket

    from streamlit.web.server.starlette import starlette_server

    from tools.serve import no_delay_sockets

    original = starlette_server._bind_socket
    try:
        assert original("127.0.0.1", 0, 8).proto == 0  # what Streamlit binds (else this fix is moot)
        no_delay_sockets()
        no_delay_sockets()  # idempotent
        sock = starlette_server._bind_socket("127.0.0.1", 0, 8)
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        starlette_server._bind_socket = original

    async def accepted_nodelay() -> int:
        got: asyncio.Future = asyncio.get_running_loop().create_future()

        def made(reader, writer):
            got.set_result(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(made, sock=sock)
        _r, w = await asyncio.open_connection(*sock.getsockname())
        value = await asyncio.wait_for(got, 5)
        w.close()
        server.close()
        return value

    assert asyncio.run(accepted_nodelay()) != 0


def test_serve_with_warm_up_becomes_healthy(tmp_path):
    """``make run``'s server with its warm-up on: the preload thread and the server's start
    import Streamlit in the right order (at once, they deadlocked in the import system and the
    server exited), and the health check answers.  The process group (warm.py too) is killed."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "QLAB_WARM": "1", "QLAB_CACHE_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tools" / "serve.py"), "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        healthy = False
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    healthy = r.read().decode().strip() == "ok"
                    break
            except OSError:
                time.sleep(0.2)
        assert healthy, proc.stdout.read().decode(errors="replace")[-3000:] if proc.poll() is not None else "no answer in 60 s"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
