"""Charts drawn on the server as SVG (no script, no CDN): bars for counts over the years, lines
for shares over the years. Each chart has a title and a description for screen readers, and
every value is written on it as well, so the picture never holds a number the text does not;
a withheld value (disclosure control) is drawn as a gap, marked with a dash."""

from collections.abc import Callable, Sequence
from html import escape

from services.shared.i18n import NOTHING as WITHHELD

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 560, 220, 44, 28, 16
COLOURS = ("#0b69a3", "#c63d0f", "#2f8132", "#7b8794")


def _frame(title: str, description: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
            f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-labelledby="t d">'
            f'<title id="t">{escape(title)}</title><desc id="d">{escape(description)}</desc>'
            f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - 8}" y2="{HEIGHT - BOTTOM}" '
            'stroke="#9aa5b1"/>' + "".join(body) + "</svg>")


def bars(title: str, labels: Sequence[str], values: Sequence[float | None],
         show: Callable[[float], str]) -> str:
    """One bar per label (a year), its value written above it."""
    top = max([v for v in values if v is not None] or [1]) or 1
    step = (WIDTH - LEFT - 8) / max(len(labels), 1)
    plot = HEIGHT - BOTTOM - TOP
    body = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = LEFT + i * step + step * 0.2
        body.append(f'<text x="{x + step * 0.3:.1f}" y="{HEIGHT - 10}" font-size="12" '
                    f'text-anchor="middle">{escape(label)}</text>')
        if value is None:
            body.append(f'<text x="{x + step * 0.3:.1f}" y="{HEIGHT - BOTTOM - 4}" '
                        f'font-size="12" text-anchor="middle">{WITHHELD}</text>')
            continue
        h = plot * value / top
        body.append(f'<rect x="{x:.1f}" y="{HEIGHT - BOTTOM - h:.1f}" width="{step * 0.6:.1f}" '
                    f'height="{h:.1f}" fill="{COLOURS[0]}"/>')
        body.append(f'<text x="{x + step * 0.3:.1f}" y="{HEIGHT - BOTTOM - h - 4:.1f}" '
                    f'font-size="12" text-anchor="middle">{escape(show(value))}</text>')
    description = "; ".join(f"{label}: {show(v) if v is not None else WITHHELD}"
                            for label, v in zip(labels, values, strict=True))
    return _frame(title, description, body)


def lines(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]],
          show: Callable[[float], str]) -> str:
    """Shares (0..1) over the labels (years), one line per series, with a legend."""
    plot = HEIGHT - BOTTOM - TOP - 18
    step = (WIDTH - LEFT - 60) / max(len(labels) - 1, 1)
    body = [f'<text x="{LEFT - 6}" y="{HEIGHT - BOTTOM}" font-size="11" '
            'text-anchor="end">0%</text>',
            f'<text x="{LEFT - 6}" y="{HEIGHT - BOTTOM - plot + 4}" font-size="11" '
            'text-anchor="end">100%</text>']
    for i, label in enumerate(labels):
        body.append(f'<text x="{LEFT + 20 + i * step:.1f}" y="{HEIGHT - 10}" font-size="12" '
                    f'text-anchor="middle">{escape(label)}</text>')
    described = []
    legend_x = LEFT
    for n, (name, values) in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        points = [(LEFT + 20 + i * step, HEIGHT - BOTTOM - plot * v)
                  for i, v in enumerate(values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                        'stroke-width="2"/>')
        for (x, y), v in zip(points, [v for v in values if v is not None], strict=True):
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>'
                        f'<text x="{x:.1f}" y="{y - 6:.1f}" font-size="11" '
                        f'text-anchor="middle" fill="{colour}">{escape(show(v))}</text>')
        body.append(f'<rect x="{legend_x}" y="2" width="10" height="10" '
                    f'fill="{colour}"/><text x="{legend_x + 14}" y="11" '
                    f'font-size="11">{escape(name)}</text>')
        legend_x += 14 + int(len(name) * 6.2) + 16  # about the width of 11px text
        described.append(f"{name}: " + ", ".join(
            f"{label} {show(v) if v is not None else WITHHELD}"
            for label, v in zip(labels, values, strict=True)))
    return _frame(title, "; ".join(described), body)
