"""Scalar, exact arithmetic on single codes: what the Bit Inspector shows.

Everything here works on Python ints (codes) and fractions.Fraction (values), never on
rounded floats, so a value typed with 40 digits is rounded once, correctly.

Rounding rule (shared with the vectorized codec)
------------------------------------------------
For a finite magnitude ``|v| > 0`` with binade exponent ``e = floor(log2|v|)``, let
``E = max(e, fmt.minexp)`` and the quantum ``q = 2**(E - fmt.nmant)``.  ``R = |v| / q`` is
rounded to an integer once, per the rounding mode, and the magnitude code is

* ``((E - minexp) << nmant) + R`` for formats with a zero (a carry of ``R`` into the
  next binade lands on the right code automatically), and
* ``((E - minexp) << nmant) + R - 2**nmant`` for zero-less formats (E8M0), clamped below at
  code 0: there is no zero, so anything under the smallest value becomes the smallest value.

``nearest_even`` breaks ties toward even ``R``; ``stochastic`` rounds ``R`` up (in magnitude)
with probability equal to the fraction it lies above ``floor(R)``.  A magnitude code above
``fmt.max_code`` is an overflow: see :func:`round_value`.
"""

from __future__ import annotations

from ..rounding import ROUNDING_MODES
from ._types import CodeInfo, ConversionError, ExactValue
from .decompose import code_value, decompose, exact_decimal
from .neighbours import conversion_error, next_down, next_up, ulp
from .parse import parse_code, parse_value
from .round import round_value

__all__ = [
    "ROUNDING_MODES",
    "ExactValue",
    "CodeInfo",
    "ConversionError",
    "parse_value",
    "parse_code",
    "round_value",
    "decompose",
    "exact_decimal",
    "code_value",
    "next_up",
    "next_down",
    "ulp",
    "conversion_error",
]
