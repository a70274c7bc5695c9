"""``bpviz bench --quick --json`` runs to the end and reports every figure.

No timing is asserted (machines are noisy): only that the JSON parses, is the only thing on stdout,
and holds every key with a positive number.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKLOADS = ("classic", "2-8-8-2/500", "2-64-64-64-2/1000", "2-64-64-64-2/10000")
PER_WORKLOAD = ("engine_steps_per_s", "plain_numpy_steps_per_s", "engine_vs_plain_numpy")
SCALARS = (
    "gui_steps_per_s", "headless_steps_per_s", "gui_to_headless_ratio",
    "frame_interval_ms_p50", "frame_interval_ms_p95", "frame_interval_ms_max", "frame_work_ms_p95",
    "snapshot_to_paint_ms_p95", "network_paint_ms_p95", "network_paint_app_ms_p95",
    "network_paint_drawlines_ms_p95", "network_raster_plan_ms", "surface_preview_ms", "surface_full_ms",
    "rss_mb_start", "rss_mb_end",
)
TARGET_KEYS = ("engine_vs_plain_numpy.classic", "gui_to_headless_ratio", "frame_interval_ms_p95",
               "frame_interval_ms_max", "snapshot_to_paint_ms_p95", "network_paint_ms_p95",
               "surface_preview_ms", "surface_full_ms")


def positive_number(v) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            and v > 0)


@pytest.fixture(scope="module")
def report():
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    proc = subprocess.run([sys.executable, "-m", "bpviz", "bench", "--quick", "--json"],
                          capture_output=True, text=True, timeout=180, env=env, cwd=ROOT)
    assert proc.returncode == 0, f"exit status {proc.returncode}\n{proc.stderr[-3000:]}"
    try:
        return json.loads(proc.stdout)        # the whole of stdout: exactly one JSON object
    except json.JSONDecodeError as e:
        pytest.fail(f"stdout is not one JSON object ({e}):\n{proc.stdout[:2000]}")


def test_every_figure_is_a_positive_number(report):
    assert isinstance(report, dict)
    for key in SCALARS:
        assert key in report, f"{key} missing"
        assert positive_number(report[key]), f"{key} = {report[key]!r}"
    for key in PER_WORKLOAD:
        assert set(report[key]) == set(WORKLOADS), key
        for w in WORKLOADS:
            assert positive_number(report[key][w]), f"{key}[{w}] = {report[key][w]!r}"
    for key in ("surface_preview_ms_by_axes", "surface_full_ms_by_axes"):
        assert set(report[key]) == {"weights", "random"}
        assert all(positive_number(v) for v in report[key].values()), report[key]
    assert report["quick"] is True
    # the app's own way of painting the 8,448 edges was the one timed, against drawLines
    assert report["network_paint_rastered"] is True
    # frames a few passes apart change few edges: most frames recompute a small part of the image
    assert 0 < report["network_raster_recomputed_share_p50"] < 0.5
    assert report["network_paint_edges_drawn"] == report["network_edges"] == 8448
    assert report["network_paint_drawlines_edges_drawn"] == 8448
    assert "soak_minutes" not in report and "rss_growth_mb" not in report   # no --soak given


def test_machine_is_described(report):
    m = report["machine"]
    assert positive_number(m["cpu_count"])
    for key in ("python", "numpy", "PySide6", "pyqtgraph"):
        assert isinstance(m[key], str) and m[key], key
    assert "blas_threads" in m


def test_targets_name_value_and_verdict(report):
    targets = report["targets"]
    keys = {t["key"] for t in targets.values()}
    assert set(TARGET_KEYS) <= keys
    for name, t in targets.items():
        assert isinstance(t["pass"], bool), name
        assert positive_number(t["value"]), name
        assert isinstance(t["target"], str) and t["target"], name
