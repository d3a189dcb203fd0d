"""Warm the shared result cache with every page's defaults, so that the first student waits for
nothing the lab could have computed before:

    python tools/warm.py [--page model --page llm ...] [--no-choices]

Each page is opened once with its defaults, headless (Streamlit's AppTest, through the router as
a browser would), in this process at low CPU priority (``nice`` 10): every result it computes
through :func:`lab.core.results.compute` lands in the on-disk cache (``QLAB_CACHE_DIR``) that the
server processes read.  A server asking for a result this script is still computing waits for it
(a file lock) instead of computing it twice.  ``make run`` and the container start it beside the
server; ``QLAB_WARM=0`` turns it off.  Prints one line per page: seconds, and any error.

Then (unless ``--no-choices``) every other value of :data:`CHOICES`' widgets, the presets whose
change starts a heavy run (a training run, a quantized language model's evaluation): a lecturer's
"now pick FP8" is then a cache hit for the whole class.  One line per widget, and ``warm: done``.
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


# then every other value of the widgets whose change starts a heavy run (bench/README_interactions.md:
# 4-7 s each on the server), so that what a class is asked to pick next is computed before it is
CHOICES = (("amp", "selectbox", "amp_preset"), ("llm", "selectbox", "llm_preset"), ("model", "toggle", "model_emb"))


def _open(page: str, timeout: float):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.run()
    at.switch_page(f"app_pages/{page}.py")
    at.run()
    return at


def warm(pages: tuple[str, ...] = PAGES, *, timeout: float = 900) -> list[tuple[str, float, str]]:
    """Open each page once; (page, seconds, error text or "") per page."""
    out = []
    for page in pages:
        t0 = time.perf_counter()
        error = ""
        try:
            at = _open(page, timeout)
            if at.exception:
                error = at.exception[0].message
        except Exception as e:  # noqa: BLE001 - reported, and the next page is warmed anyway
            error = f"{type(e).__name__}: {e}"
        out.append((page, time.perf_counter() - t0, error))
    return out


def warm_choices(choices: tuple[tuple[str, str, str], ...] = CHOICES, *, timeout: float = 900) -> list[tuple[str, str, int, float, str]]:
    """Pick every value of each widget ``(page, kind, key)`` (a selectbox's other options, a
    toggle's other state) one after another in one session of its page, so that each value's
    results land in the shared cache; (page, key, values picked, seconds, error or "") per widget.
    /amp's 5 presets, for one: the 4 not shown by default, about 6 s each."""
    out = []
    for page, kind, key in choices:
        t0 = time.perf_counter()
        picked, error = 0, ""
        try:
            at = _open(page, timeout)
            w = getattr(at, kind)(key=key)
            steps = [i for i in range(len(w.options)) if i != w.index] if kind == "selectbox" else [not w.value]
            for step in steps:
                w = getattr(at, kind)(key=key)
                (w.select_index(step) if kind == "selectbox" else w.set_value(step)).run()
                picked += 1
                if at.exception:
                    error = f"value {picked}: {at.exception[0].message}"
                    break
        except Exception as e:  # noqa: BLE001 - reported, and the next widget is warmed anyway
            error = f"{type(e).__name__}: {e}"
        out.append((page, key, picked, time.perf_counter() - t0, error))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--page", action="append", choices=PAGES, help="warm only this page (repeatable)")
    ap.add_argument("--delay", type=float, default=0.0, help="seconds to wait first (let the server start)")
    ap.add_argument("--no-choices", action="store_true", help="the defaults only, not every value of CHOICES' widgets")
    args = ap.parse_args(argv)
    if os.environ.get("QLAB_WARM") == "0":
        print("warm: QLAB_WARM=0, nothing to do")
        return 0
    try:
        os.nice(10)
    except OSError:
        pass
    time.sleep(args.delay)
    t0 = time.perf_counter()
    failed = 0
    pages = tuple(args.page or PAGES)
    for page, seconds, error in warm(pages):
        print(f"warm: /{page:8s} {seconds:7.1f} s  {error or 'ok'}", flush=True)
        failed += bool(error)
    if not args.no_choices:
        for page, key, picked, seconds, error in warm_choices(tuple(c for c in CHOICES if c[0] in pages)):
            print(f"warm: choices /{page} {key}: {picked} values in {seconds:.1f} s  {error or 'ok'}", flush=True)
            failed += bool(error)
    print(f"warm: done in {time.perf_counter() - t0:.1f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
