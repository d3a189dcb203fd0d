"""The Tensor Lab's words: the labels of its figures and tables, translated."""

from __future__ import annotations

import html

from figures import tensor as tensor_figs
from lab.core.i18n import _, translated

__all__ = ["metrics_html", "shape_text", "stored_note", "tensor_labels"]


def tensor_labels() -> dict[str, str]:
    """The words of the Tensor Lab figures and tables (:data:`figures.tensor.LABELS`) in the
    session's language (the English there is the msgid)."""
    return translated(tensor_figs.LABELS)


def shape_text(shape) -> str:
    """``shape_text((3, 4)) == "3 × 4"``; a scalar's shape is ``()``."""
    return " × ".join(str(s) for s in shape) if len(shape) else "()"


def metrics_html(rows: list[list[str]], labels: dict[str, str]) -> str:
    """The metrics table: each metric with what it means in small print under it, and its value
    (two columns, so it stays readable on a phone)."""
    head = f"<tr><th>{html.escape(labels['col_metric'])}</th><th>{html.escape(labels['col_value'])}</th></tr>"
    body = "".join(
        f'<tr><td><b>{html.escape(name)}</b><div class="tl-meaning">{html.escape(meaning)}</div></td><td class="ql-mono">{html.escape(value)}</td></tr>'
        for name, value, meaning in rows
    )
    return f'<table class="ql-table tl-metrics"><thead>{head}</thead><tbody>{body}</tbody></table>'


def stored_note(stored_type: str | None, stored_scheme: str | None, stored_bits: float | None) -> str | None:
    """The caption of a tensor a file stored quantized (a .gguf ``Q4_1`` tensor): what the values
    shown are, and that its type is in the comparison; None for a tensor stored as plain numbers."""
    if stored_scheme is None or stored_type is None:
        return None
    return _(
        "Stored as {type} ({bits} bits per weight): the values shown are the stored tensor dequantized, the numbers llama.cpp computes with. "
        "{scheme} is in the comparison below: re-quantizing with it loses nothing or almost nothing, any other scheme adds its own error."
    ).format(type=stored_type, bits=f"{stored_bits:g}" if stored_bits is not None else "?", scheme=stored_scheme)
