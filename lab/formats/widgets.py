"""The Format Comparison's widgets: the clickable code table and its legend."""

from __future__ import annotations

import html
from collections.abc import Callable

from figures.formats import KIND_TINTS


def code_table_html(table, href: Callable[[int], str]) -> str:
    """A code table (:class:`figures.formats.CodeTable`) as HTML: one linked cell per code,
    tinted by class; ``href(code)`` is the link (opened in this tab)."""
    head = "<th></th>" + "".join(f"<th>{html.escape(c)}</th>" for c in table.text.columns)
    rows = []
    for i, label in enumerate(table.text.index):
        cells = []
        for j in range(table.text.shape[1]):
            code = int(table.code.iat[i, j])
            kind = table.kind.iat[i, j]
            cells.append(
                f'<td style="background:{KIND_TINTS[kind]}"><a href="{html.escape(href(code), quote=True)}" target="_self" '
                f'title="{html.escape(table.title.iat[i, j], quote=True)}" data-code="{code}">{html.escape(table.text.iat[i, j])}</a></td>'
            )
        rows.append(f"<tr><th>{html.escape(label)}</th>{''.join(cells)}</tr>")
    return f'<div class="ql-scroll"><table class="ql-codes"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def kind_legend_html(kinds: list[str], labels: dict[str, str]) -> str:
    """Coloured chips naming the classes of a code table."""
    chips = "".join(f'<span style="background:{KIND_TINTS[k]}">{html.escape(labels[k])}</span>' for k in kinds)
    return f'<div class="ql-legend">{chips}</div>'
