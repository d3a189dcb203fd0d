"""Start the lab for a class: ``streamlit run app.py`` plus a warm-up, so that the first student
waits neither for the models to load nor for the pages' default results.

    python tools/serve.py [streamlit options, e.g. --server.port 8501]

* In this process, once the server is up, a low-priority thread loads the shared read-only
  resources every session uses (the two models, their tokenized evaluation sets and float32
  references): ``st.cache_resource`` holds one copy per process, so loading them here is what
  makes the first visit as quick as the second.
* Beside it, ``tools/warm.py`` opens every page once with its defaults, then picks every value
  of the preset widgets that start a heavy run, in a separate low-priority process, which fills
  the on-disk result cache (``QLAB_CACHE_DIR``) that this server reads; what it has not finished
  yet, the server waits for instead of computing twice.

``QLAB_WARM=0`` turns both off (``make run`` passes it through).

* :mod:`static_cache`: the frontend's hashed files answered from memory and gzipped once
  (a first visit to /tensor: 9.5 MB -> 2.95 MB); ``QLAB_GZIP_STATIC=0`` leaves them to Streamlit.

* :func:`no_delay_sockets`: Streamlit binds its listening socket with protocol number 0, so
  asyncio leaves Nagle's algorithm on for every connection it accepts (it sets TCP_NODELAY only
  on sockets whose ``proto`` is IPPROTO_TCP).  On a kept-alive connection each static file's body
  then waits for the client's delayed ACK of its headers: 40 ms a file on Linux, about 0.6 s for
  a first visit's 84 files over 6 connections.  Rebinding it as IPPROTO_TCP removes the stall.
"""

from __future__ import annotations

import importlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# module:function of every st.cache_resource the default pages need (no arguments)
RESOURCES = (
    "lab.model.cached:model",
    "lab.model.cached:eval_batch",
    "lab.llm.cached:model",
    "lab.llm.cached:eval_ids",
    "lab.llm.cached:reference_logits",
    "lab.qat.cached:data",
)


def preload(resources: tuple[str, ...] = RESOURCES, *, wait: float = 120.0) -> list[tuple[str, float, str]]:
    """Call each resource function once, after the server's runtime exists (``st.cache_resource``
    then caches into the cache the sessions read); (name, seconds, error or "") per resource."""
    from streamlit.runtime import Runtime

    t_end = time.monotonic() + wait
    while not Runtime.exists() and time.monotonic() < t_end:
        time.sleep(0.2)
    try:  # this thread only (Linux: a thread is a task with its own nice value)
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):
        pass
    out = []
    for name in resources:
        t0 = time.perf_counter()
        error = ""
        try:
            module, _, fn = name.partition(":")
            getattr(importlib.import_module(module), fn)()
        except Exception as e:  # noqa: BLE001 - a page that needs it will show the error itself
            error = f"{type(e).__name__}: {e}"
        out.append((name, time.perf_counter() - t0, error))
        print(f"preload: {name:36s} {out[-1][1]:6.1f} s  {error or 'ok'}", flush=True)
    return out


def no_delay_sockets() -> None:
    """Make Streamlit's listening socket an IPPROTO_TCP one, so that asyncio sets TCP_NODELAY on
    each connection it accepts (a 750-byte file on a reused connection: 44 ms -> 2 ms)."""
    from streamlit.web.server.starlette import starlette_server

    bind = starlette_server._bind_socket
    if getattr(bind, "_no_delay", False):
        return

    def bind_tcp(address: str, port: int, backlog: int) -> socket.socket:
        sock = bind(address, port, backlog)
        if sock.proto == socket.IPPROTO_TCP:
            return sock
        tcp = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
        tcp.set_inheritable(True)
        return tcp

    bind_tcp._no_delay = True
    starlette_server._bind_socket = bind_tcp


def main(argv: list[str]) -> None:
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)  # .streamlit/config.toml is read from the working directory
    # Streamlit is imported here, before the preload thread starts: two threads importing it at
    # once deadlock in the import system ("DeltaGeneratorSingleton instance already exists!").
    no_delay_sockets()
    if os.environ.get("QLAB_GZIP_STATIC") != "0":
        import static_cache  # beside this script

        static_cache.install()
    from streamlit.runtime import Runtime  # noqa: F401 - what preload() imports first
    from streamlit.web import cli

    if os.environ.get("QLAB_WARM") != "0":
        threading.Thread(target=preload, name="qlab-preload", daemon=True).start()
        subprocess.Popen([sys.executable, str(ROOT / "tools" / "warm.py"), "--delay", "5"], stdin=subprocess.DEVNULL)

    sys.argv = ["streamlit", "run", str(ROOT / "app.py"), *argv]
    cli.main()


if __name__ == "__main__":
    main(sys.argv[1:])
