"""Benchmark: every widget interaction on every page, on the server (AppTest), default inputs.

    python bench/bench_interactions.py [--pages bits,formats,...] [--write bench/README_interactions.md]

Each page is opened once with its defaults (heavy results computed and cached first, as a
warmed server has them); then every selectbox, radio, toggle, checkbox, slider, number input
and segmented control on it is moved to another allowed value, the page rerun and timed, and
the widget moved back.  The time is the script's whole rerun on the server (no browser, no
websocket), i.e. what the budget "an interaction under 300 ms on the server" measures.  A widget
whose new value starts a heavy computation (a training run, GPTQ) is timed too, and shows up as
over the budget: those are the runs a page computes once and caches, listed apart.

Timings are of numpy emulation on this machine (2 cores here); a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QLAB_CACHE_DIR", "off")  # memory only: the numbers do not depend on an old disk cache
os.environ.setdefault("STREAMLIT_CLIENT_SHOW_ERROR_DETAILS", "full")

from bench._common import write_section  # noqa: E402


def _one_script_cache() -> None:
    """A server compiles each page once (its Runtime's one ScriptCache); every AppTest run makes a
    new cache and compiles app.py and the page again (0.1-0.2 s of magic + compile a run): keep
    the bytecode across runs, so the time is the rerun a server does."""
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache

    inner, memo = ScriptCache.get_bytecode, {}

    def get_bytecode(self, script_path):
        key = os.path.abspath(script_path)
        if key not in memo:
            memo[key] = inner(self, script_path)
        return memo[key]

    ScriptCache.get_bytecode = get_bytecode


_one_script_cache()

PAGES = ("home", "learn", "bits", "formats", "tensor", "cost", "amp", "qat", "model", "llm")
BUDGET_MS = 300
KINDS = ("selectbox", "radio", "toggle", "checkbox", "slider", "number_input", "segmented_control", "select_slider")


def _other(w, kind: str):
    """Another allowed value of widget ``w`` (None: it has none)."""
    v = w.value
    if kind in ("toggle", "checkbox"):
        return not v
    if kind in ("selectbox", "radio", "segmented_control", "select_slider"):
        opts = list(getattr(w, "options", []))
        if len(opts) < 2:
            return None
        fmt = [str(o) for o in opts]
        cur = str(w.format_func(v)) if hasattr(w, "format_func") and v is not None else str(v)
        i = fmt.index(cur) if cur in fmt else 0
        other = opts[(i + 1) % len(opts)]
        return other
    if kind in ("slider", "number_input"):
        if v is None or isinstance(v, (tuple, list)):
            return None
        step = getattr(w, "step", None) or 1
        hi = getattr(w, "max", None)
        lo = getattr(w, "min", None)
        new = v + step
        if hi is not None and new > hi:
            new = v - step
        if lo is not None and new < lo:
            return None
        return new
    return None


def bench_page(page: str, timeout: float = 900) -> list[tuple[str, str, float, str]]:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.run()
    if page != "home":
        at.switch_page(f"app_pages/{page}.py")
    at.run()
    at.run()  # the second run: what a user's interaction starts from
    rows = []
    for kind in KINDS:
        for w in list(getattr(at, kind)):
            key = getattr(w, "key", None) or getattr(w, "label", "")
            if not key or kind == "selectbox" and key in ("lang", "ql_lang"):
                continue
            try:
                old = w.value
                new = _other(w, kind)
                if new is None:
                    continue
                t0 = time.perf_counter()
                w.set_value(new)
                at.run()
                ms = (time.perf_counter() - t0) * 1e3
                note = at.exception[0].message[:60] if at.exception else ""
                rows.append((kind, str(key), ms, note))
                ww = at.get(kind)
                back = next((x for x in ww if (getattr(x, "key", None) or getattr(x, "label", "")) == key), None)
                if back is not None:
                    back.set_value(old)
                    at.run()
            except Exception as e:  # noqa: BLE001 - a widget AppTest cannot drive is reported, not fatal
                rows.append((kind, str(key), float("nan"), f"{type(e).__name__}: {str(e)[:50]}"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", default=",".join(PAGES))
    ap.add_argument("--write", type=Path)
    args = ap.parse_args()
    out = [f"{os.cpu_count()} cores ({platform.machine()}), Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}", ""]
    summary = ["| page | widgets | median ms | max ms | over 300 ms |", "|---|---|---|---|---|"]
    detail = ["| page | widget | kind | ms | note |", "|---|---|---|---|---|"]
    for page in args.pages.split(","):
        rows = bench_page(page)
        ms = [r[2] for r in rows if r[2] == r[2]]
        over = [r for r in rows if r[2] == r[2] and r[2] > BUDGET_MS]
        med = f"{statistics.median(ms):.0f}" if ms else "–"
        top = f"{max(ms):.0f}" if ms else "–"
        summary.append(f"| /{page} | {len(rows)} | {med} | {top} | {len(over)}{': ' + ', '.join(r[1] for r in over) if over else ''} |")
        for kind, key, t, note in rows:
            detail.append(f"| /{page} | `{key}` | {kind} | {t:.0f} | {note} |")
        print(summary[-1], flush=True)
    text = "\n".join(out + summary + ["", "<details><summary>Every widget</summary>", "", *detail, "", "</details>"])
    print(text)
    if args.write:
        write_section(args.write, "interactions", text)


if __name__ == "__main__":
    main()
