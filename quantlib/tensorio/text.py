"""csv / tsv / txt: a numeric matrix (comma, semicolon, tab or spaces; ``#`` comments and one
header row allowed), parsed to the nearest float64."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ._source import MAX_TEXT_BYTES, LoadedTensor, TensorEntry, TensorFileError, _accepted, _fmt_bytes, _Reader, _Source, _too_many


# ---- csv / txt
def _parse_text(src: _Source, max_elements: int) -> tuple[np.ndarray, str]:
    label = src.label
    if src.size > MAX_TEXT_BYTES:
        raise TensorFileError(
            f"{label} is {_fmt_bytes(src.size)} of text, more than the {_fmt_bytes(MAX_TEXT_BYTES)} accepted for csv/txt; "
            "save large tensors as .npy or .safetensors"
        )
    raw = src.read_at(0, src.size, "the text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TensorFileError(
            f"{label} is neither a known binary tensor format nor UTF-8 text (byte {raw[exc.start]:#04x} at offset {exc.start}); {_accepted()}"
        ) from None
    if "\x00" in text:
        raise TensorFileError(f"{label} holds binary data (NUL bytes), not a text table; {_accepted()}")
    rows = [(i + 1, ln.strip()) for i, ln in enumerate(text.splitlines())]
    rows = [(i, ln) for i, ln in rows if ln and not ln.startswith("#")]
    if not rows:
        raise TensorFileError(f"{label} holds no numbers (only blank or # comment lines); a csv/txt file must hold a numeric matrix, one row per line")
    first = rows[0][1]
    delim = next((d for d in (",", ";", "\t") if d in first), None)

    def cells(line: str) -> list[str]:
        parts = line.split(delim) if delim else line.split()
        return [p.strip().strip('"').strip() for p in parts]

    def number(c: str) -> bool:
        try:
            float(c)
        except ValueError:
            return False
        return True

    header = None
    if len(rows) > 1 and not all(number(c) for c in cells(first)) and all(c for c in cells(first)):
        header = cells(first)
        rows = rows[1:]
    ncols = len(cells(rows[0][1]))
    if len(rows) * ncols > max_elements:
        raise TensorFileError(_too_many(label, (len(rows), ncols), max_elements))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = np.loadtxt([ln for _, ln in rows], delimiter=delim, dtype=np.float64, ndmin=2, quotechar='"', comments=None)
    except ValueError as exc:
        _diagnose_text(label, rows, cells, number, delim, header)
        raise TensorFileError(f"{label} could not be parsed as a numeric matrix ({str(exc)[:120]}); a csv/txt file must hold only numbers") from None
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    return arr, Path(label).stem or "table"


def _diagnose_text(label, rows, cells, number, delim, header) -> None:
    """Raise TensorFileError naming the first ragged row or non-number cell, if there is one."""
    sep = {",": "comma", ";": "semicolon", "\t": "tab", None: "whitespace"}[delim]
    ncols = None
    for lineno, line in rows:
        cs = cells(line)
        if ncols is None:
            ncols = len(cs)
            if header is not None and len(header) != ncols:
                raise TensorFileError(
                    f"{label}: the header row has {len(header)} columns but line {lineno} has {ncols} ({sep}-separated); "
                    "every row needs the same number of columns"
                )
        elif len(cs) != ncols:
            raise TensorFileError(
                f"{label}: line {lineno} has {len(cs)} values but the first row has {ncols} ({sep}-separated); "
                "every row needs the same number of columns"
            )
        for j, c in enumerate(cs):
            if not number(c):
                what = "is empty" if not c else f"holds {c[:30]!r}, not a number"
                raise TensorFileError(
                    f"{label}: line {lineno}, column {j + 1} {what}; a csv/txt file must hold only numbers "
                    "(one header row and # comments are allowed; write NaN/inf as nan/inf)"
                )


class _TextReader(_Reader):
    fmt = "text"

    def __init__(self, src: _Source, max_elements: int):
        self.arr, self.name = _parse_text(src, max_elements)

    def entries(self) -> list[TensorEntry]:
        return [TensorEntry(self.name, self.arr.shape, "text", self.arr.nbytes)]

    def load(self, entry: TensorEntry) -> LoadedTensor:
        a = self.arr
        return LoadedTensor(self.name, a, "text", "text", int(np.isnan(a).sum()), int(np.isinf(a).sum()))
