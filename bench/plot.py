"""The report's PNG, drawn with Pillow (already a ComfyUI dependency; four simple panels do not need matplotlib):
ratios against their goals, efficiency, the per-stage breakdown of a text-to-video run, Swin vs full scaling."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

W, H = 1200, 820
PANEL = (W // 2, H // 2)
COLORS = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#9d755d", "#bab0ac"]
FONT = ImageFont.load_default(size=14)
SMALL = ImageFont.load_default(size=12)


class Panel:
    """A plotting area inside the image: data coordinates -> pixels, with a title and a y axis."""

    def __init__(self, draw: ImageDraw.ImageDraw, origin: tuple[int, int], title: str, ymax: float, ylabel: str):
        self.d, (self.x0, self.y0) = draw, origin
        self.left, self.top, self.w, self.h = self.x0 + 60, self.y0 + 40, PANEL[0] - 90, PANEL[1] - 110
        self.ymax = ymax
        draw.text((self.x0 + 10, self.y0 + 10), title, fill="black", font=FONT)
        draw.line(
            [(self.left, self.top), (self.left, self.top + self.h), (self.left + self.w, self.top + self.h)], "black"
        )
        for k in range(5):
            v = ymax * k / 4
            y = self.y(v)
            draw.line([(self.left - 4, y), (self.left, y)], "black")
            draw.text((self.left - 8, y), f"{v:.3g}", fill="black", font=SMALL, anchor="rm")
        draw.text((self.x0 + 6, self.top - 18), ylabel, fill="gray", font=SMALL)

    def y(self, v: float) -> float:
        return self.top + self.h * (1 - min(v, self.ymax) / self.ymax)

    def bars(self, labels: list[str], values: list[float], goals: list[float | None] | None = None) -> None:
        step = self.w / len(labels)
        for i, (label, v) in enumerate(zip(labels, values, strict=True)):
            x = self.left + step * (i + 0.2)
            self.d.rectangle([x, self.y(v), x + step * 0.6, self.y(0)], fill=COLORS[i % len(COLORS)])
            self.d.text((x + step * 0.3, self.y(v) - 3), f"{v:.2f}", fill="black", font=SMALL, anchor="md")
            self.d.text((x + step * 0.3, self.y(0) + 6), label, fill="black", font=SMALL, anchor="ma")
            goal = goals[i] if goals else None
            if goal is not None:
                gy = self.y(goal)
                self.d.line([(x - 4, gy), (x + step * 0.6 + 4, gy)], fill="red", width=2)
        if goals:
            self.d.text((self.left + self.w, self.top - 18), "red: goal", fill="red", font=SMALL, anchor="ra")

    def stacked(self, labels: list[str], parts: list[dict[str, float]]) -> None:
        step = self.w / len(labels)
        names = [n for n in parts[0] if any(p.get(n, 0) > 0 for p in parts)]
        for i, (label, p) in enumerate(zip(labels, parts, strict=True)):
            x, base = self.left + step * (i + 0.25), 0.0
            for j, n in enumerate(names):
                v = p.get(n, 0.0)
                self.d.rectangle([x, self.y(base + v), x + step * 0.5, self.y(base)], fill=COLORS[j % len(COLORS)])
                base += v
            self.d.text((x + step * 0.25, self.y(base) - 3), f"{base:.2f} s", fill="black", font=SMALL, anchor="md")
            self.d.text((x + step * 0.25, self.y(0) + 6), label, fill="black", font=SMALL, anchor="ma")
        for j, n in enumerate(names):
            y = self.top + 14 * j
            self.d.rectangle([self.left + self.w - 140, y, self.left + self.w - 130, y + 10], fill=COLORS[j % 8])
            self.d.text((self.left + self.w - 125, y - 2), n, fill="black", font=SMALL)

    def lines(self, xs: list[float], series: dict[str, list[float]], xlabel: str) -> None:
        xmax = max(xs)
        px = [self.left + self.w * x / xmax for x in xs]
        for j, (name, ys) in enumerate(series.items()):
            pts = [(x, self.y(y)) for x, y in zip(px, ys, strict=True)]
            self.d.line(pts, fill=COLORS[j], width=3)
            for x, y in pts:
                self.d.ellipse([x - 4, y - 4, x + 4, y + 4], fill=COLORS[j])
            self.d.text((self.left + 10, self.top + 16 * j), name, fill=COLORS[j], font=FONT)
        for x, v in zip(px, xs, strict=True):
            self.d.text((x, self.y(0) + 6), f"{v:g}", fill="black", font=SMALL, anchor="ma")
        self.d.text((self.left + self.w, self.y(0) + 24), xlabel, fill="gray", font=SMALL, anchor="ra")


def plot(report: dict, path: Path) -> Path:
    img = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(img)
    ratios = [(f"DiT {r['case']}\nours/Wan", r["ratio"], 1.0) for r in report.get("dit", [])]
    ratios += [(f"semantic {r['case']}\nwith/without", r["time_ratio"], r["goal"]) for r in report.get("semantic", [])]
    if "graph" in report:
        ratios.append(("graph\nserver/direct", report["graph"]["ratio"], 1.05))
    if ratios:
        top = max(max(r[1], r[2]) for r in ratios) * 1.1
        p = Panel(d, (0, 0), "Ratios (median of alternating rounds; lower is better)", top, "ratio")
        p.bars([r[0] for r in ratios], [r[1] for r in ratios], [r[2] for r in ratios])
    if report.get("dit"):
        peak = report["peak_gflops"]
        eff = [(f"{r['case']} ours", 100 * r["ours_gflops"] / peak) for r in report["dit"]]
        eff += [(f"{r['case']} Wan", 100 * r["wan_gflops"] / peak) for r in report["dit"]]
        p = Panel(
            d,
            (PANEL[0], 0),
            f"DiT step GFLOP/s as % of the measured matmul peak ({report['peak_gflops']:.0f} GFLOP/s"
            + (f", {report['peak']['n']}² on {report['peak']['threads']} thread(s))" if "peak" in report else ")"),
            100.0,
            "%",
        )
        p.bars([e[0] for e in eff], [e[1] for e in eff], [50.0 if e[0] == "wide ours" else None for e in eff])
    if "graph" in report:
        g = report["graph"]
        parts = [g["cold_stages"], g["server_stages"], g["direct_stages"]]
        top = max(sum(p.values()) for p in parts)
        p = Panel(d, (0, PANEL[1]), "Text-to-video demo: seconds per stage", top * 1.15, "s")
        p.stacked(["server cold\n(1st prompt)", "server warm", "direct warm"], parts)
    if "swin" in report:
        rows = report["swin"]["rows"]
        top = max(max(r["full_s"], r["swin_s"]) for r in rows)
        p = Panel(d, (PANEL[0], PANEL[1]), "Latent stage: full vs Swin attention, s per step", top * 1.1, "s")
        p.lines(
            [r["frames"] for r in rows],
            {"full": [r["full_s"] for r in rows], "swin": [r["swin_s"] for r in rows]},
            "video frames",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path
