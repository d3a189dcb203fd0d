"""Reading a typed value (decimal, fraction, hex float, inf/nan) or a code (hex/binary) exactly."""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Literal


from ..formats import FloatFormat, get_format
from ._types import ExactValue


# ====================================================================== parsing

# Largest decimal / binary exponent accepted from text.  Far beyond any format up to 64
# bits that can be printed at all (float64 spans 1e-324 .. 1e308), small enough that
# 10**exponent is computed instantly.
_MAX_DEC_EXP = 10_000
_MAX_BIN_EXP = 33_300

_DIGITS = r"[0-9](?:_?[0-9])*"
_HEXDIGITS = r"[0-9a-f](?:_?[0-9a-f])*"
_DEC_RE = re.compile(rf"(?P<int>{_DIGITS})?(?:\.(?P<frac>{_DIGITS})?)?(?:e(?P<exp>[+-]?{_DIGITS}))?")
_HEX_RE = re.compile(rf"0x(?P<int>{_HEXDIGITS})?(?:\.(?P<frac>{_HEXDIGITS})?)?(?:p(?P<exp>[+-]?{_DIGITS}))?")
_SPECIAL = {"inf": "inf", "infinity": "inf", "∞": "inf", "nan": "nan"}
_HELP = "expected a decimal like 0.1 or -2.5e-3, a fraction like 1/3, a hex float like 0x1.8p3, inf or nan"


class _Unreadable(Exception):
    """Internal: why a piece of text is not a number."""


def _split_sign(s: str) -> tuple[bool, str]:
    if s[:1] in ("+", "-"):
        return s[0] == "-", s[1:].lstrip()
    return False, s


def _exponent(text: str, limit: int, letter: str) -> int:
    e = int(text.replace("_", ""))
    if abs(e) > limit:
        raise _Unreadable(f"the exponent {letter}{e} is too large for this tool (limit ±{limit})")
    return e


def _str_to_int(digits: str, base: int = 10) -> int:
    """int(digits, base) for any length (Python limits int(str) to 4300 decimal digits)."""
    if base != 10 or len(digits) <= 4000:
        return int(digits, base)
    k = len(digits) // 2
    return _str_to_int(digits[:k]) * 10 ** (len(digits) - k) + _str_to_int(digits[k:])


def _parse_unsigned(s: str) -> Fraction:
    """An unsigned decimal or hex float, exactly (no inf/nan, no fraction bar)."""
    if s.startswith("0x"):
        m = _HEX_RE.fullmatch(s)
        if not m or (m["int"] is None and m["frac"] is None):
            raise _Unreadable("a hex float looks like 0x1.8p3 (hex digits 0-9 a-f, binary exponent after p)")
        int_digits = (m["int"] or "").replace("_", "")
        frac_digits = (m["frac"] or "").replace("_", "")
        mant = int(int_digits + frac_digits or "0", 16)
        shift = (_exponent(m["exp"], _MAX_BIN_EXP, "p") if m["exp"] else 0) - 4 * len(frac_digits)
        return Fraction(mant << shift) if shift >= 0 else Fraction(mant, 1 << -shift)
    m = _DEC_RE.fullmatch(s)
    if not m or (m["int"] is None and m["frac"] is None):
        raise _Unreadable(_reason(s))
    int_digits = (m["int"] or "").replace("_", "")
    frac_digits = (m["frac"] or "").replace("_", "")
    mant = _str_to_int(int_digits + frac_digits or "0")
    shift = (_exponent(m["exp"], _MAX_DEC_EXP, "e") if m["exp"] else 0) - len(frac_digits)
    if mant == 0:
        return Fraction(0)
    return Fraction(mant * 10**shift) if shift >= 0 else Fraction(mant, 10**-shift)


def _reason(s: str) -> str:
    """A student-readable reason why ``s`` (lower-case, sign removed) is not a decimal."""
    if not s:
        return "there are no digits"
    if "," in s:
        return "use '.' as the decimal point and no ',' (write 0.5, or 1000 / 1_000)"
    if s.count(".") > 1:
        return "it has more than one decimal point"
    if s.count("e") > 1:
        return "it has more than one exponent 'e'"
    if re.search(r"[+-]", re.sub(r"e[+-]", "e", s)):
        return "a sign may only appear at the start (and right after the exponent's 'e')"
    if re.search(r"e[+-]?$", s):
        return "the exponent after 'e' has no digits"
    if re.match(r"\.?e", s):
        return "there are no digits before the exponent 'e'"
    if s == ".":
        return "there are no digits"
    if " " in s:
        return "it contains a space"
    bad = next((c for c in s if c not in "0123456789._e"), None)
    if bad is not None:
        return f"unexpected character {bad!r}; {_HELP}"
    if "_" in s:
        return "'_' may only separate two digits (1_000_000)"
    return _HELP


def _parse_real(s: str) -> tuple[bool, Fraction]:
    negative, body = _split_sign(s)
    if not body:
        raise _Unreadable("there is a sign but no number")
    return negative, _parse_unsigned(body)


def parse_value(text: str) -> ExactValue:
    """Parse a decimal as typed, exactly: any number of digits, exponent notation
    ('2.5e-3'), a fraction ('1/3'), a C99 hex float ('0x1.8p3'), 'inf', '-inf', 'nan', '-0'.

    Case-insensitive; surrounding whitespace, a leading '+', the Unicode minus '−' and '_'
    between digits ('1_000') are accepted.  ``'-0'`` keeps its sign (``negative=True``,
    magnitude 0), as does ``'-nan'``.  ValueError with a readable message for anything else:
    ``could not read '1.2.3' as a number: it has more than one decimal point``.
    """
    if not isinstance(text, str):
        raise ValueError(f"could not read {text!r} as a number: expected text, got {type(text).__name__}")
    s = text.strip().lower().replace("\u2212", "-")
    try:
        if not s:
            raise _Unreadable("the text is empty")
        if "/" in s:
            parts = s.split("/")
            if len(parts) != 2:
                raise _Unreadable("a fraction has exactly one '/' (like 1/3)")
            num_text, den_text = (p.strip() for p in parts)
            if not num_text or not den_text:
                raise _Unreadable("a fraction needs a number on both sides of '/' (like 1/3)")
            for part in (num_text, den_text):
                if _split_sign(part)[1] in _SPECIAL:
                    raise _Unreadable("inf and nan cannot be part of a fraction")
            neg_n, num = _parse_real(num_text)
            neg_d, den = _parse_real(den_text)
            if den == 0:
                raise _Unreadable("division by zero (the part after '/' is 0)")
            return ExactValue(negative=neg_n != neg_d, magnitude=num / den)
        negative, body = _split_sign(s)
        if body in _SPECIAL:
            return ExactValue(negative=negative, magnitude=None, kind=_SPECIAL[body])  # type: ignore[arg-type]
        if not body:
            raise _Unreadable("there is a sign but no number")
        return ExactValue(negative=negative, magnitude=_parse_unsigned(body))
    except _Unreadable as exc:
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise ValueError(f"could not read {shown!r} as a number: {exc}") from None


def parse_code(text: str, fmt: FloatFormat | str, *, base: Literal[2, 16]) -> int:
    """Parse a code typed as hex ('3f80', '0x3F80') or binary ('0b0011_1111...', spaces and
    underscores allowed); ValueError when it has more than ``fmt.bits`` bits.

    Leading zeros are fine (``'0x007E'`` is a valid E4M3FN code); a code whose *value* needs
    more than ``fmt.bits`` bits is not.
    """
    fmt = get_format(fmt)
    if base not in (2, 16):
        raise ValueError(f"base must be 2 or 16, got {base!r}")
    if not isinstance(text, str):
        raise ValueError(f"could not read {text!r} as a code: expected text")
    s = re.sub(r"[\s_]", "", text).lower()
    what = "hex" if base == 16 else "binary"
    prefix = "0x" if base == 16 else "0b"
    if s.startswith(prefix):
        s = s[2:]
    elif base == 2 and s.startswith("0x"):
        raise ValueError(f"could not read {text.strip()!r} as a binary code: it looks like hex (0x...); switch the input to hex")
    if not s:
        raise ValueError(f"could not read {text.strip()!r} as a {what} code: there are no digits")
    allowed = "01" if base == 2 else "0123456789abcdef"
    bad = next((c for c in s if c not in allowed), None)
    if bad is not None:
        digits = "only 0 and 1" if base == 2 else "only 0-9 and a-f"
        raise ValueError(f"could not read {text.strip()!r} as a {what} code: {bad!r} is not a {what} digit ({digits})")
    code = int(s, base)
    if code >> fmt.bits:
        limit = f"0x{(1 << fmt.bits) - 1:X}" if base == 16 else "1" * fmt.bits
        raise ValueError(
            f"code {text.strip()!r} needs {code.bit_length()} bits, but {fmt.name} codes have {fmt.bits} "
            f"(largest code {limit})"
        )
    return code
