#!/usr/bin/env python3
"""cluster/fmnist_plot.py — the Fashion-MNIST experiment's Recall@1-over-steps plot as a
hand-written SVG (python3 standard library only): one panel per layout (normal, cluttered), one
colour per model, solid for the first seed and dashed for the others.

  fmnist_plot.py OUT.svg SERIES.json
SERIES.json: {"panels": [[title, [[label, colour_index, dashed, [[step, r1], ...]], ...]], ...]}
(cluster/fmnist_table.py calls write_svg directly)."""
import json
import math
import sys
from xml.sax.saxutils import escape

COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf"]
PANEL_W, PANEL_H = 420, 300
MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 55, 15, 30, 45
LEGEND_ROW = 16


def nice_ticks(hi, count=5):
    """Round tick values 0, step, 2 step, ... up to hi (about `count` of them)."""
    raw = max(hi, 1e-9) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(s * mag for s in (1, 2, 2.5, 5, 10) if s * mag >= raw)
    return [round(i * step, 10) for i in range(int(hi / step + 1e-9) + 1)]


def panel(x0, y0, title, series, x_max, y_max):
    """SVG elements of one panel with its top-left corner at (x0, y0)."""
    w = PANEL_W - MARGIN_L - MARGIN_R
    h = PANEL_H - MARGIN_T - MARGIN_B
    left, top = x0 + MARGIN_L, y0 + MARGIN_T

    def px(step):
        return left + w * step / x_max

    def py(r1):
        return top + h * (1 - r1 / y_max)

    out = ['<text x="%.1f" y="%.1f" text-anchor="middle" font-size="14">%s</text>'
           % (left + w / 2, y0 + 18, escape(title)),
           '<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#444"/>'
           % (left, top, w, h)]
    for t in nice_ticks(y_max):
        out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>'
                   % (left, py(t), left + w, py(t)))
        out.append('<text x="%.1f" y="%.1f" text-anchor="end" font-size="11">%g</text>'
                   % (left - 5, py(t) + 4, t))
    for t in nice_ticks(x_max):
        out.append('<text x="%.1f" y="%.1f" text-anchor="middle" font-size="11">%g</text>'
                   % (px(t), top + h + 15, t))
    out.append('<text x="%.1f" y="%.1f" text-anchor="middle" font-size="12">step</text>'
               % (left + w / 2, top + h + 32))
    cy = top + h / 2
    out.append('<text x="%.1f" y="%.1f" font-size="12" transform="rotate(-90 %.1f %.1f)" '
               'text-anchor="middle">Recall@1</text>' % (x0 + 14, cy, x0 + 14, cy))
    for label, colour, dashed, points in series:
        if not points:
            continue
        c = COLOURS[colour % len(COLOURS)]
        path = " ".join("%.1f,%.1f" % (px(s), py(r)) for s, r in points)
        out.append('<polyline points="%s" fill="none" stroke="%s" stroke-width="1.8"%s>'
                   '<title>%s</title></polyline>'
                   % (path, c, ' stroke-dasharray="5,3"' if dashed else "", escape(label)))
        for s, r in points:
            out.append('<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"/>' % (px(s), py(r), c))
    return out


def write_svg(path, panels):
    """panels: [(title, [(label, colour_index, dashed, [(step, r1), ...]), ...]), ...]."""
    points = [p for _, series in panels for _, _, _, pts in series for p in pts]
    x_max = max([s for s, _ in points] + [1])
    y_max = max([r for _, r in points] + [0.05]) * 1.1
    legend = []  # one entry per (label, colour, dashed), in first-seen order
    for _, series in panels:
        for label, colour, dashed, _ in series:
            if (label, colour, dashed) not in legend:
                legend.append((label, colour, dashed))
    width = PANEL_W * len(panels)
    height = PANEL_H + LEGEND_ROW * ((len(legend) + 1) // 2) + 10
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif">' % (width, height),
           '<rect width="100%" height="100%" fill="white"/>']
    for i, (title, series) in enumerate(panels):
        out += panel(i * PANEL_W, 0, title, series, x_max, y_max)
    for k, (label, colour, dashed) in enumerate(legend):
        x = 20 + (k % 2) * (width / 2)
        y = PANEL_H + 8 + LEGEND_ROW * (k // 2)
        c = COLOURS[colour % len(COLOURS)]
        out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"%s/>'
                   % (x, y, x + 24, y, c, ' stroke-dasharray="5,3"' if dashed else ""))
        out.append('<text x="%.1f" y="%.1f" font-size="11">%s</text>'
                   % (x + 30, y + 4, escape(label)))
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    return path


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[2]) as f:
        panels = json.load(f)["panels"]
    write_svg(sys.argv[1], panels)


if __name__ == "__main__":
    main()
