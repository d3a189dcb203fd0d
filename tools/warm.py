"""Warm the shared result cache with every page's defaults, so that the first student waits for
nothing the lab could have computed before:

    python tools/warm.py [--page model --page llm ...]

Each page is opened once with its defaults, headless (Streamlit's AppTest, through the router as
a browser would), in this process at low CPU priority (``nice`` 10): every result it computes
through :func:`lab.core.results.compute` lands in the on-disk cache (``QLAB_CACHE_DIR``) that the
server processes read.  A server asking for a result this script is still computing waits for it
(a file lock) instead of computing it twice.  ``make run`` and the container start it beside the
server; ``QLAB_WARM=0`` turns it off.  Prints one line per page: seconds, and any error.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# the defaults a class opens first: the heavy pages, then the light ones (their figures are
# per-process caches, but opening them once loads their modules)
PAGES = ("model", "llm", "amp", "qat", "tensor", "formats", "bits", "learn", "cost")


def warm(pages: tuple[str, ...] = PAGES, *, timeout: float = 900) -> list[tuple[str, float, str]]:
    """Open each page once; (page, seconds, error text or "") per page."""
    from streamlit.testing.v1 import AppTest

    out = []
    for page in pages:
        t0 = time.perf_counter()
        error = ""
        try:
            at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
            at.run()
            at.switch_page(f"app_pages/{page}.py")
            at.run()
            if at.exception:
                error = at.exception[0].message
        except Exception as e:  # noqa: BLE001 - reported, and the next page is warmed anyway
            error = f"{type(e).__name__}: {e}"
        out.append((page, time.perf_counter() - t0, error))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--page", action="append", choices=PAGES, help="warm only this page (repeatable)")
    ap.add_argument("--delay", type=float, default=0.0, help="seconds to wait first (let the server start)")
    args = ap.parse_args(argv)
    if os.environ.get("QLAB_WARM") == "0":
        print("warm: QLAB_WARM=0, nothing to do")
        return 0
    try:
        os.nice(10)
    except OSError:
        pass
    time.sleep(args.delay)
    failed = 0
    for page, seconds, error in warm(tuple(args.page or PAGES)):
        print(f"warm: /{page:8s} {seconds:7.1f} s  {error or 'ok'}", flush=True)
        failed += bool(error)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
