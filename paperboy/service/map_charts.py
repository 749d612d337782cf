"""Static pictures of the map, drawn with matplotlib (offline, no fonts or tiles to fetch): the whole map and a reader's topics."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from paperboy.index.map_files import MapData

FINE_LABELS = 40  # the biggest fine topics are labelled too; more would overlap at print size


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display; safe in web and worker processes
    import matplotlib.pyplot as plt

    return plt


def palette(n: int) -> np.ndarray:
    """n distinguishable RGBA colours (tab20, then a hue wheel for more)."""
    import matplotlib

    base = matplotlib.colormaps["tab20"](np.r_[0:20:2, 1:20:2])  # the strong colours first, then their pale twins
    if n <= 20:
        return base[:n]
    extra = matplotlib.colormaps["hsv"](np.linspace(0, 1, n - 20, endpoint=False))
    return np.concatenate([base, extra])


def draw_map(d: MapData, path: Path, *, title: str | None = None, dpi: int = 200) -> Path:
    """A labelled, print-ready picture of every paper coloured by broad topic (format from the file extension)."""
    import matplotlib.patheffects as pe

    plt = _pyplot()
    parent = np.asarray([t["parent"] for t in d.topics], dtype=np.int64)
    broad = parent[d.fine.astype(np.int64)] if len(d) else np.zeros(0, np.int64)
    colours = palette(max(1, len(d.broad)))
    fig, ax = plt.subplots(figsize=(12, 12), dpi=dpi)
    try:
        size = float(np.clip(40_000 / max(len(d), 1), 0.3, 12))
        ax.scatter(
            d.xy[:, 0],
            d.xy[:, 1],
            s=size,
            c=colours[broad] if len(d) else None,
            linewidths=0,
            alpha=0.6,
            rasterized=True,
        )
        halo = [pe.withStroke(linewidth=3, foreground="white")]
        for t in sorted(d.topics, key=lambda t: -t["size"])[:FINE_LABELS]:
            ax.text(
                t["x"],
                t["y"],
                _wrap(t["label"]),
                fontsize=6.5,
                ha="center",
                va="center",
                color="#333",
                path_effects=halo,
            )
        for b in d.broad:
            ax.text(
                b["x"],
                b["y"],
                _wrap(b["label"]).upper(),
                fontsize=11,
                weight="bold",
                ha="center",
                va="center",
                color=colours[b["id"]] * [0.6, 0.6, 0.6, 1],
                path_effects=halo,
            )
        ax.set_axis_off()
        ax.set_aspect("equal")
        ax.set_title(title or f"{len(d):,} papers, {len(d.topics)} topics", fontsize=14)
        path = Path(path)
        fig.savefig(path, bbox_inches="tight", facecolor="white")
    finally:
        plt.close(fig)
    return path


def _wrap(label: str, width: int = 22) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(label, width)) or label


def topics_chart(months: Sequence[str], series: Sequence[tuple[str, Sequence[int]]], *, dpi: int = 110) -> bytes:
    """A small PNG line chart: papers per month of each of a reader's topics (for the digest email)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.6, 2.4), dpi=dpi)
    try:
        colours = palette(max(1, len(series)))
        x = np.arange(len(months))
        for k, (label, counts) in enumerate(series):
            ax.plot(x, counts, color=colours[k], linewidth=1.8, label=label[:40])
        step = max(1, len(months) // 6)
        ax.set_xticks(x[::step], [m for m in months[::step]], fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_ylabel("papers / month", fontsize=7)
        ax.spines[["top", "right"]].set_visible(False)
        if series:
            ax.legend(fontsize=6.5, frameon=False, loc="upper left")
        buf = io.BytesIO()
        fig.savefig(buf, format="png", bbox_inches="tight", facecolor="white")
    finally:
        plt.close(fig)
    return buf.getvalue()
