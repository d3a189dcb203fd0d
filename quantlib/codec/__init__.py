"""Vectorized, exact encode / decode / cast between numpy floats and any :class:`FloatFormat`.

Every value is rounded **once**, from the exact value of the input element: a float64
input is never rounded through float32 first.  (ml_dtypes does that, and turns
``1.0625 + 2**-40`` into 1.0 in E4M3 instead of 1.125.)

The rule, for ``|x|`` in the binade ``[2**e, 2**(e+1))``:

* quantum ``q = 2**(max(e, minexp) - nmant)`` (fixed below ``smallest_normal``: subnormals);
* ``R = round(|x| / q)`` by the rounding mode, on the exact integer significand;
* magnitude code ``= ((max(e, minexp) - minexp) << nmant) + R``, so a carry out of the
  mantissa lands on the next binade by itself;
* a code above ``fmt.max_code`` overflows: ±inf (``ieee``), NaN (``fn``/``fnuz``),
  ±max (``none``, or ``saturate=True``); directed modes clamp to ±max on the side they
  round toward zero, as IEEE 754 §7.4 says.

Worked number: float32 ``0.1`` (= 13421773 × 2**-27) into E4M3FN: e = -4, q = 2**-7,
``R = round(12.8000002) = 13``, code = ``((-4 + 6) << 3) + 13 = 29 = 0x1D``, value 0.1015625.

Speed: the common case (round-to-nearest or toward zero, input inside the normal range)
is done on the input's bit pattern in cache-sized chunks, one thread per core; the rest
(subnormals, overflow, NaN, directed and stochastic rounding) goes through an exact
integer kernel on just those elements.
"""

from __future__ import annotations

from ..rounding import KINDS, ROUNDING_MODES
from ._cast import cast
from ._decode import decode
from ._encode import encode
from ._tables import AllValues, all_values, classify

__all__ = [
    "ROUNDING_MODES",
    "encode",
    "decode",
    "cast",
    "all_values",
    "classify",
    "AllValues",
    "KINDS",
]
