"""``bpviz bench --quick --json`` (the ``bpviz.bench`` package) runs to the end and reports every figure, the big-network cases
(4x64, 4x256 and 8x512 in the window and headless) included, briefly (``--case-seconds``).

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
BIG_CASES = {"4x64": [64] * 4, "4x256": [256] * 4, "8x512": [512] * 8}
BIG_FIGURES = ("headless_passes_per_s", "window_passes_per_s", "window_to_headless_ratio",
               "headless_peak_rss_mb", "window_peak_rss_mb", "window_process_peak_rss_mb",
               "window_rss_allowance_mb", "window_rss_to_allowance", "headless_cores",
               "window_process_cores")
TARGET_KEYS = ("engine_vs_plain_numpy.classic", "gui_to_headless_ratio", "frame_interval_ms_p95",
               "frame_interval_ms_max", "snapshot_to_paint_ms_p95", "network_paint_ms_p95",
               "surface_preview_ms", "surface_full_ms",
               *(f"big_networks.{case}.{key}" for case in BIG_CASES
                 for key in ("window_to_headless_ratio", "window_rss_to_allowance")))


def positive_number(v) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            and v > 0)


@pytest.fixture(scope="module")
def report():
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    proc = subprocess.run([sys.executable, "-m", "bpviz", "bench", "--quick", "--json",
                           "--case-seconds", "0.2"],
                          capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
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
    # the frames as the window's frame-timing hook reported them: each panel's part, and the
    # paints Qt did after them
    by_panel = report["frame_update_ms_p95_by_panel"]
    assert by_panel and set(by_panel) <= {"network", "surface", "cost", "boundary", "inspector",
                                          "graph", "code"}
    assert all(v >= 0 for v in by_panel.values()), by_panel
    assert positive_number(report["frame_paint_ms_p95"])
    assert 0 < report["frames_painted_fraction"] <= 1


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


def test_big_networks_are_measured_both_ways(report):
    big = report["big_networks"]
    assert set(big) == set(BIG_CASES)
    for case, hidden in BIG_CASES.items():
        c = big[case]
        assert c["hidden"] == hidden and c["batch_size"] == 32 and c["seconds"] == 0.2
        for key in BIG_FIGURES:
            assert positive_number(c[key]), f"{case}: {key} = {c[key]!r}"
        assert c["window_mode"] in ("process", "thread")
        # the window's RSS counts its training process too, and the allowance is 2 × headless
        # + 300 MB
        assert c["window_peak_rss_mb"] == pytest.approx(
            c["window_process_peak_rss_mb"] + c["training_process_peak_rss_mb"])
        assert c["window_rss_allowance_mb"] == pytest.approx(2 * c["headless_peak_rss_mb"] + 300)
        assert len(c["window_to_headless_ratio_runs"]) == 2              # --quick: two segments
    # the largest network on the largest dataset the window accepts for it (full batch
    # included): the memory estimate's limit, worked out here
    from bpviz.engine.config import MEMORY_LIMIT_BYTES
    sizes = [2, *BIG_CASES["8x512"], 3]
    def need(n):          # bpviz.engine.config.estimate_memory, full batch
        per_sample = sum(sizes) * 4 + sum(sizes[1:]) * 2
        params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])) * 6
        return 8 * (n * per_sample + params + n * 5)
    n = big["8x512"]["samples"]
    assert need(n) <= MEMORY_LIMIT_BYTES < need(n + 1)
    assert big["4x64"]["samples"] == big["4x256"]["samples"] == 1500


def test_bench_refuses_a_bad_case_option():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT),
                                                                   os.environ.get("PYTHONPATH")])))
    for args in (["--case-seconds", "0"], ["--case-seconds", "nan"], ["--big-networks", "3x3"]):
        proc = subprocess.run([sys.executable, "-m", "bpviz", "bench", *args], capture_output=True,
                              text=True, timeout=60, env=env, cwd=ROOT)
        assert proc.returncode == 2, args
        assert proc.stderr.strip() and "Traceback" not in proc.stderr, args
