"""The Bit Inspector's cached quantlib work: one code inspected, a value in every format."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import streamlit as st

from quantlib import FORMATS, FloatFormat
from quantlib import exact
from quantlib.exact.cast_steps import CastSteps, cast_steps


from lab.core.cached import FormatKey, resolve_format


@dataclass(frozen=True)
class Inspection:
    """Everything the Bit Inspector shows about one code."""

    info: exact.CodeInfo
    typed: exact.ExactValue | None  # the parsed input when a decimal was typed
    error: exact.ConversionError | None  # its conversion error
    down: exact.CodeInfo | None  # next_down, decomposed
    up: exact.CodeInfo | None  # next_up, decomposed
    ulp: Fraction | None
    code_minus: exact.CodeInfo  # the code − 1 (wrapping), decomposed
    code_plus: exact.CodeInfo  # the code + 1 (wrapping), decomposed


def _rng_for(rounding: str, seed: int):
    return int(seed) if rounding == "stochastic" else None


def _inspect(fmt: FloatFormat, code: int, typed: exact.ExactValue | None) -> Inspection:
    info = exact.decompose(code, fmt)
    down, up = exact.next_down(code, fmt), exact.next_up(code, fmt)
    u = exact.ulp(code, fmt)
    return Inspection(
        info=info,
        typed=typed,
        error=exact.conversion_error(typed, code, fmt) if typed is not None else None,
        down=exact.decompose(down, fmt) if down is not None else None,
        up=exact.decompose(up, fmt) if up is not None else None,
        ulp=u,
        code_minus=exact.decompose((code - 1) % (1 << fmt.bits), fmt),
        code_plus=exact.decompose((code + 1) % (1 << fmt.bits), fmt),
    )


@st.cache_data(max_entries=2048, show_spinner=False)
def inspect_value(fmt_key: FormatKey, text: str, rounding: str, saturate: bool, seed: int) -> Inspection:
    """Parse ``text``, round it once into the format, and inspect the resulting code.

    ValueError (quantlib's message) for unreadable text or a value the format cannot
    hold at all (NaN into a format without NaN).
    """
    fmt = resolve_format(fmt_key)
    typed = exact.parse_value(text)
    code = exact.round_value(typed, fmt, rounding=rounding, saturate=saturate, rng=_rng_for(rounding, seed))
    return _inspect(fmt, code, typed)


@st.cache_data(max_entries=2048, show_spinner=False)
def inspect_code(fmt_key: FormatKey, code: int) -> Inspection:
    """Inspect a code given directly (no input, no conversion error)."""
    return _inspect(resolve_format(fmt_key), code, None)


def parse_code(fmt_key: FormatKey, text: str, base: int) -> int:
    """A hex (16) or binary (2) code for the format; ValueError when unreadable or too long."""
    return exact.parse_code(text, resolve_format(fmt_key), base=base)


@dataclass(frozen=True)
class FormatRow:
    """One format's storage of the same input (a row of the all-formats table)."""

    name: str
    fmt: FloatFormat
    info: exact.CodeInfo | None
    error: exact.ConversionError | None
    problem: str | None  # quantlib's message when the format cannot store the input


@st.cache_data(max_entries=512, show_spinner=False)
def all_formats(text: str, rounding: str, saturate: bool, seed: int) -> list[FormatRow]:
    """The input ``text`` rounded into every registry format (same rounding and saturation)."""
    typed = exact.parse_value(text)
    rows = []
    for name, fmt in FORMATS.items():
        try:
            code = exact.round_value(typed, fmt, rounding=rounding, saturate=saturate, rng=_rng_for(rounding, seed))
        except ValueError as exc:
            rows.append(FormatRow(name, fmt, None, None, str(exc)))
            continue
        rows.append(FormatRow(name, fmt, exact.decompose(code, fmt), exact.conversion_error(typed, code, fmt), None))
    return rows


@st.cache_data(max_entries=2048, show_spinner=False)
def cast(fmt_key: FormatKey, code: int, dst_key: FormatKey, saturate: bool) -> tuple[CastSteps, exact.ConversionError | None]:
    """The cast of ``code`` to the target format step by step, and its error against the
    source's exact value (None when the target cannot hold it at all)."""
    src, dst = resolve_format(fmt_key), resolve_format(dst_key)
    steps = cast_steps(code, src, dst, saturate=saturate)
    error = exact.conversion_error(exact.code_value(code, src), steps.code, dst) if steps.code is not None else None
    return steps, error
