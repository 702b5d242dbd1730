"""Charts drawn on the server as SVG: readable without JavaScript, printable, accessible.

Each chart is an ``<svg role="img">`` labelled by its ``<title>`` and ``<desc>``; the page
puts the same numbers beside it as a table, which is what screen readers and exports use.
Colours come from one palette chosen to stay distinct in greyscale print.
"""

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

PALETTE = ("#1f5f8b", "#c8553d", "#588b3a", "#8a5fa3")
BAR_HEIGHT = 22
LABEL_WIDTH = 180
PLOT_WIDTH = 420


def _frame(
    *,
    ident: str,
    title: str,
    desc: str,
    width: int,
    height: int,
    body: str,
    natural: bool = False,
) -> SafeString:
    """``natural``: drawn at its own size (a wide heat map scrolls rather than shrinks)."""
    size = (
        f'width="{width}" height="{height}" class="chart natural"'
        if natural
        else ('width="100%" class="chart"')
    )
    return mark_safe(  # noqa: S308 - every text below went through escape()
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {width} {height}" {size} '
        f'aria-labelledby="{ident}-title {ident}-desc">'
        f'<title id="{ident}-title">{escape(title)}</title>'
        f'<desc id="{ident}-desc">{escape(desc)}</desc>{body}</svg>'
    )


def bar_chart(*, ident: str, title: str, desc: str, bars: list[tuple[str, float]]) -> SafeString:
    """Horizontal bars, one per ``(label, value)``, the value written at the bar's end."""
    top = max((value for _, value in bars), default=0) or 1
    parts = []
    for index, (label, value) in enumerate(bars):
        y = 10 + index * (BAR_HEIGHT + 6)
        width = round(PLOT_WIDTH * value / top, 1)
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="end" font-size="12">{}</text>'
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>'
                '<text x="{}" y="{}" font-size="12">{}</text>',
                LABEL_WIDTH - 6,
                y + 15,
                label[:28],
                LABEL_WIDTH,
                y,
                width,
                BAR_HEIGHT,
                PALETTE[0],
                LABEL_WIDTH + width + 4,
                y + 15,
                _number(value),
            )
        )
    height = 20 + len(bars) * (BAR_HEIGHT + 6)
    return _frame(
        ident=ident,
        title=title,
        desc=desc,
        width=LABEL_WIDTH + PLOT_WIDTH + 80,
        height=height,
        body="".join(parts),
    )


def series_chart(
    *, ident: str, title: str, desc: str, labels: list[str], series: list[tuple[str, list[int]]]
) -> SafeString:
    """Lines over time: one per ``(name, values)``, one point per label, with a legend."""
    width, height, left, bottom = 640, 260, 40, 40
    plot_h, plot_w = height - bottom - 30, width - left - 20
    top = max((v for _, values in series for v in values), default=0) or 1
    step = plot_w / max(len(labels) - 1, 1)
    parts = [
        format_html(
            '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#555"/>'
            '<text x="{}" y="{}" font-size="11" text-anchor="end">{}</text>'
            '<text x="{}" y="{}" font-size="11" text-anchor="end">0</text>',
            left,
            30 + plot_h,
            left + plot_w,
            30 + plot_h,
            left - 4,
            34,
            top,
            left - 4,
            34 + plot_h,
        )
    ]
    for index, label in enumerate(labels):
        parts.append(
            format_html(
                '<text x="{}" y="{}" font-size="10" text-anchor="middle">{}</text>',
                round(left + index * step, 1),
                height - bottom + 24,
                label,
            )
        )
    for number, (name, values) in enumerate(series):
        colour = PALETTE[number % len(PALETTE)]
        points = " ".join(
            f"{round(left + i * step, 1)},{round(30 + plot_h - plot_h * v / top, 1)}"
            for i, v in enumerate(values)
        )
        dash = ("", ' stroke-dasharray="6 3"', ' stroke-dasharray="2 2"', "")[number % 4]
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} points="{points}"/>'
        )
        parts.append(
            format_html(
                '<rect x="{}" y="6" width="12" height="12" fill="{}"/>'
                '<text x="{}" y="16" font-size="12">{}</text>',
                left + number * 150,
                colour,
                left + number * 150 + 16,
                name,
            )
        )
    return _frame(
        ident=ident, title=title, desc=desc, width=width, height=height, body="".join(parts)
    )


def heat_map(
    *,
    ident: str,
    title: str,
    desc: str,
    rows: list[str],
    columns: list[str],
    share,
) -> SafeString:
    """A grid of regions (rows) × competencies (columns), darker for a larger share.

    ``share(row_index, column_index)`` is a fraction between 0 and 1, or None (no workers).
    Each cell carries its percentage as text, so the chart reads without colour too.
    """
    cell_w, cell_h, left, top = 56, 28, 160, 90
    parts = []
    for c, column in enumerate(columns):
        x = left + c * cell_w + cell_w / 2
        parts.append(
            format_html(
                '<text x="{}" y="{}" font-size="11" transform="rotate(-40 {} {})">{}</text>',
                x,
                top - 8,
                x,
                top - 8,
                column[:18],
            )
        )
    for r, row in enumerate(rows):
        y = top + r * cell_h
        parts.append(
            format_html(
                '<text x="{}" y="{}" font-size="12" text-anchor="end">{}</text>',
                left - 6,
                y + 18,
                row[:24],
            )
        )
        for c in range(len(columns)):
            value = share(r, c)
            if value is None:
                fill, text, ink = "#eeeeee", "–", "#333"
            else:
                fill = f"rgba(31, 95, 139, {round(0.08 + 0.92 * value, 3)})"
                text, ink = f"{round(value * 100)}%", "#fff" if value > 0.5 else "#111"
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" stroke="#fff"/>'
                    '<text x="{}" y="{}" font-size="11" text-anchor="middle" fill="{}">{}</text>',
                    left + c * cell_w,
                    y,
                    cell_w,
                    cell_h,
                    fill,
                    left + c * cell_w + cell_w / 2,
                    y + 18,
                    ink,
                    text,
                )
            )
    width = left + max(len(columns), 1) * cell_w + 20
    height = top + max(len(rows), 1) * cell_h + 10
    return _frame(
        ident=ident,
        title=title,
        desc=desc,
        width=width,
        height=height,
        body="".join(parts),
        natural=True,
    )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"
