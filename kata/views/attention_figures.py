"""Attention maps as pictures: every head of one layer in a grid, or one head large.

A map is an (L, L) matrix: row i is the query token i, column j the key token j, and
weights[i, j] is how much token i attends to token j (each row sums to 1). The tokens
label both axes. Attention weights always use one fixed scale, 0 to 1, so two pictures
compare by eye; a difference of two maps uses a diverging scale centred on zero, never
narrower than the kata's whole-model tolerance, so rounding noise stays white. A NaN
(a row that softmax turned into 0/0) is drawn magenta.

Figures are matplotlib `Figure`s drawn by the Agg renderer: files only, no pyplot, no
display needed.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Colormap
from matplotlib.figure import Figure

NAN_COLOUR = "magenta"
INCH = 72  # points
SMALLEST_LABEL_POINTS = 5.5  # below this a tick label cannot be read: label every k-th token instead


@dataclass(frozen=True)
class Scale:
    """How values become colours: a colour map between vmin and vmax, and what the colour bar says."""

    colours: Colormap
    vmin: float
    vmax: float
    label: str


def attention_scale() -> Scale:
    return Scale(
        colormaps["Blues"].with_extremes(bad=NAN_COLOUR), 0.0, 1.0, "attention weight (each row sums to 1)"
    )


def difference_scale(difference: np.ndarray, tolerance: float) -> Scale:
    """A scale symmetric around zero, wide enough for the largest difference and at least `tolerance`."""
    largest = float(np.nanmax(np.abs(difference))) if np.isfinite(difference).any() else 0.0
    limit = max(largest, tolerance)
    return Scale(
        colormaps["RdBu_r"].with_extremes(bad=NAN_COLOUR), -limit, limit, "difference (red: yours higher)"
    )


def heads_figure(
    weights: np.ndarray, tokens: Sequence[str], title: str, scale: Scale, notes: Sequence[str] | None = None
) -> Figure:
    """Every head of one layer: weights (H, L, L), one heatmap per head, one shared colour bar.

    The panels share their axes, so the tokens label the left column and the bottom row.
    `notes` (one string per head, optional) go after each panel's "head N".
    """
    heads, length = weights.shape[0], len(tokens)
    columns = math.ceil(math.sqrt(heads))
    rows = math.ceil(heads / columns)
    side = min(max(0.19 * length, 2.6), 4.5)  # inches per map
    labels = _Labels(tokens, side / length)
    gap, title_gap, top, right = 0.15, 0.35, 0.85, 1.3
    left = bottom = labels.margin + 0.3  # room for the tick labels and the axis label
    width = left + columns * side + (columns - 1) * gap + right
    height = bottom + rows * side + (rows - 1) * title_gap + top
    figure = _figure(width, height)
    for head in range(heads):
        row, column = divmod(head, columns)
        x, y = left + column * (side + gap), bottom + (rows - 1 - row) * (side + title_gap)
        ax = figure.add_axes((x / width, y / height, side / width, side / height))
        image = _heatmap(ax, weights[head], scale)
        first_column, lowest = column == 0, head + columns >= heads
        labels.put(ax, rows=first_column, columns=lowest)
        ax.set_title(f"head {head}" + (f": {notes[head]}" if notes else ""), fontsize=9, pad=3)
        if first_column:
            ax.set_ylabel("query (attends from)", fontsize=8)
        if lowest:
            ax.set_xlabel("key (attends to)", fontsize=8)
    grid_right = left + columns * side + (columns - 1) * gap
    grid_height = rows * side + (rows - 1) * title_gap
    bar = figure.add_axes(
        (
            (grid_right + 0.3) / width,
            (bottom + 0.2 * grid_height) / height,
            0.18 / width,
            0.6 * grid_height / height,
        )
    )
    figure.colorbar(image, cax=bar, label=scale.label)
    figure.suptitle(title, fontsize=12, y=1 - 0.12 / height, va="top")
    return figure


def head_figure(
    weights: np.ndarray, tokens: Sequence[str], title: str, scale: Scale, show_values: bool
) -> Figure:
    """One head, large: weights (L, L), with the weights written in the cells when `show_values` and they fit."""
    length = len(tokens)
    side = min(max(0.42 * length, 4.5), 11.0)  # inches for the map
    labels = _Labels(tokens, side / length)
    top, right = 0.75, 1.5
    left = bottom = labels.margin + 0.35
    width, height = left + side + right, bottom + side + top
    figure = _figure(width, height)
    ax = figure.add_axes((left / width, bottom / height, side / width, side / height))
    image = _heatmap(ax, weights, scale)
    labels.put(ax, rows=True, columns=True)
    ax.set_ylabel("query: the token that attends")
    ax.set_xlabel("key: the token attended to")
    if show_values and side / length * INCH >= 16:  # room for ".42" in 7-point type
        _write_values(ax, weights, scale)
    bar = figure.add_axes(
        ((left + side + 0.3) / width, (bottom + 0.1 * side) / height, 0.2 / width, 0.8 * side / height)
    )
    figure.colorbar(image, cax=bar, label=scale.label)
    figure.suptitle(title, fontsize=11, y=1 - 0.1 / height, va="top")
    return figure


def save(figure: Figure, path: str | Path) -> None:
    figure.savefig(path, dpi=100)


class _Labels:
    """Token tick labels that fit their cells: as large as a cell allows, every k-th token when cells are tiny."""

    def __init__(self, tokens, cell_inches):
        self.tokens = tokens
        size = min(cell_inches * INCH * 0.8, 10.0)
        self.step = max(1, math.ceil(SMALLEST_LABEL_POINTS / size))
        self.size = max(size, SMALLEST_LABEL_POINTS)
        self.margin = (max(len(token) for token in tokens) * self.size * 0.62 + 6) / INCH  # inches

    def put(self, ax, rows, columns):
        positions = range(0, len(self.tokens), self.step)
        names = [self.tokens[i] for i in positions]
        # A panel inside the grid gets no ticks at all: they cost time and say nothing.
        ax.set_xticks(positions if columns else [], names if columns else [], rotation=90, fontsize=self.size)
        ax.set_yticks(positions if rows else [], names if rows else [], fontsize=self.size)
        ax.tick_params(length=0, pad=1)


def _figure(width, height):
    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)  # draw with Agg: PNG files, no display
    return figure


def _heatmap(ax, weights, scale):
    return ax.imshow(
        np.ma.masked_invalid(weights), cmap=scale.colours, vmin=scale.vmin, vmax=scale.vmax, aspect="equal"
    )


def _write_values(ax, weights, scale):
    """Write each weight of at least 0.05 in its cell (".42"), dark on light cells and light on dark."""
    for (row, column), value in np.ndenumerate(weights):
        if np.isfinite(value) and value >= 0.05:
            shade = (value - scale.vmin) / (scale.vmax - scale.vmin)
            text = f"{value:.2f}".removeprefix("0")
            colour = "white" if shade > 0.55 else "black"
            ax.text(column, row, text, ha="center", va="center", fontsize=7, color=colour)
