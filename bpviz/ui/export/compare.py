"""Runs side by side as one figure: the cost curves, the gradient norms and the descent paths of
several runs (:mod:`bpviz.engine.runs`), each run in its colour and labelled with what differs
between them. ``bpviz compare`` renders it offscreen as PNG or SVG (:mod:`.formats`)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from ...engine.runs import Run, common_plane, projected
from ..plotting import style
from ..panels.cost import GRAD_PREFIX

DASHES = (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine, Qt.PenStyle.DotLine,
          Qt.PenStyle.DashDotLine, Qt.PenStyle.DashDotDotLine)


def run_color(k: int) -> tuple[int, int, int]:
    """The colour of run ``k`` (the class colours: distinct on white)."""
    return style.class_color(k)


class ComparisonFigure(QWidget):
    """Three plots in a row: train loss per epoch (log scale), the gradient norm of each layer
    per epoch (a run's colour, one dash per layer), and the descent paths in the plane of their
    two principal directions (a dot where each starts, a ring where it ends)."""

    def __init__(self, runs: Sequence[Run], labels: Sequence[str], title: str,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground(style.BACKGROUND)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.view.addLabel(title, row=0, col=0, colspan=3, size="12pt", color=style.FOREGROUND)
        self.loss_plot = self._plot(1, 0, "train loss", "epoch", "loss (log scale)")
        self.loss_plot.setLogMode(y=True)
        self.grad_plot = self._plot(1, 1, "gradient norm per layer", "epoch",
                                    "norm (log scale)")
        self.grad_plot.setLogMode(y=True)
        self.path_plot = self._plot(1, 2, "descent paths", "principal direction 1",
                                    "principal direction 2")
        legend = self.loss_plot.addLegend(offset=(-10, 10), labelTextColor=style.FOREGROUND,
                                          brush=pg.mkBrush(255, 255, 255, 220))
        self.curves: dict[str, list[pg.PlotDataItem]] = {"loss": [], "grad": [], "path": []}
        plane = common_plane(runs)
        self.path_note = ""
        for k, (run, label) in enumerate(zip(runs, labels)):
            color = run_color(k)
            index = {c: i for i, c in enumerate(run.header)}
            epochs = run.history[:, index["epoch"]] if "epoch" in index else \
                np.arange(len(run.history), dtype=float)
            loss = run.history[:, index["loss"]]
            shown = np.isfinite(loss) & (loss > 0)
            curve = self.loss_plot.plot(epochs[shown], loss[shown], pen=pg.mkPen(color, width=2),
                                        name=label)
            self.curves["loss"].append(curve)
            layers = [c for c in run.header if c.startswith(GRAD_PREFIX)]
            for l, column in enumerate(layers):
                norm = run.history[:, index[column]]
                ok = np.isfinite(norm) & (norm > 0)
                self.curves["grad"].append(self.grad_plot.plot(
                    epochs[ok], norm[ok],
                    pen=pg.mkPen(color, width=1.5, style=DASHES[l % len(DASHES)])))
            xy = projected(run, plane)
            if xy is not None and len(xy):
                self.curves["path"].append(self.path_plot.plot(
                    xy[:, 0], xy[:, 1], pen=pg.mkPen(color, width=2)))
                self.path_plot.plot([xy[0, 0]], [xy[0, 1]], pen=None, symbol="o", symbolSize=7,
                                    symbolBrush=color, symbolPen=None)
                self.path_plot.plot([xy[-1, 0]], [xy[-1, 1]], pen=None, symbol="o",
                                    symbolSize=11, symbolBrush=None,
                                    symbolPen=pg.mkPen(color, width=2))
        if not self.curves["path"]:
            self.path_note = "none of these runs\nrecorded a descent path"
            note = pg.TextItem(self.path_note, color=style.FOREGROUND, anchor=(0.5, 0.5))
            self.path_plot.addItem(note)
            self.path_plot.setRange(xRange=(-1, 1), yRange=(-1, 1))
            note.setPos(0, 0)
        self.legend = legend
        self.grad_plot.setTitle("gradient norm per layer (dashes: layer 1, 2, …)",
                                color=style.FOREGROUND, size="9pt")

    def _plot(self, row: int, col: int, title: str, bottom: str, left: str) -> pg.PlotItem:
        plot = self.view.addPlot(row=row, col=col)
        style.style_plot(plot)
        plot.setTitle(title, color=style.FOREGROUND, size="9pt")
        plot.setLabel("bottom", bottom, color=style.FOREGROUND)
        plot.setLabel("left", left, color=style.FOREGROUND)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        return plot

    def legend_labels(self) -> list[str]:
        """The labels of the loss plot's legend, in order."""
        return [label.text for _, label in self.legend.items]
