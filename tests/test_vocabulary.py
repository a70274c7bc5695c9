"""bpviz's fixed words, written once (``bpviz.engine.vocabulary``), and every user of them reading
the same ones."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bpviz.engine import vocabulary as V

ROOT = Path(__file__).resolve().parents[1] / "bpviz"


def test_the_users_read_the_one_vocabulary():
    from bpviz import helptext, lessons, training
    from bpviz.ui.network import layout as network_layout
    from bpviz.ui.window.main_window import STEP_MODES as WINDOW_STEP_MODES
    assert helptext.PANELS is V.PANELS and lessons.PANELS is V.PANELS
    assert training.STEP_MODES is V.STEP_MODES and lessons.STEP_MODES is V.STEP_MODES
    assert [mode for _, mode in WINDOW_STEP_MODES] == list(V.STEP_MODES)
    assert lessons.EDGE_MODES is V.EDGE_MODES and tuple(network_layout.OVERLAYS) == V.EDGE_MODES
    assert lessons.NEURON_MODES is V.NEURON_MODES
    assert tuple(network_layout.NODE_MODES) == V.NEURON_MODES


def _assigned_names(tree) -> set[str]:
    out = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AnnAssign) else []
        out |= {t.id for t in targets if isinstance(t, ast.Name)}
        if isinstance(node, ast.FunctionDef):
            out.add(node.name)
    return out


def test_no_module_writes_a_word_of_the_vocabulary_again():
    """No module but the vocabulary defines these names at its top level (an import is fine)."""
    words = {"PANELS", "STEP_MODES", "EDGE_MODES", "NEURON_MODES", "nice_ceiling", "_frozen",
             "NODE_MODES"}
    allowed = {("ui/window/main_window.py", "STEP_MODES"),      # (label, mode) pairs for the Step box
               ("ui/panels/cost.py", "nice_ceiling"),     # the axis's steps, from the vocabulary
               ("bench.py", "PANELS")}                  # the panels whose paint is timed
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel == "engine/vocabulary.py":
            continue
        for name in _assigned_names(ast.parse(path.read_text(encoding="utf-8"))) & words:
            if (rel, name) not in allowed:
                found.append((rel, name))
    assert found == []


@pytest.mark.parametrize("value, speed", [
    ("max", None), (" max ", None), (250, 250), ("250", 250), ("1,000", 1000), (30.0, 30),
    ("1e3", 1000)])
def test_parse_speed(value, speed):
    assert V.parse_speed(value) == speed


@pytest.mark.parametrize("value", ["fast", "", "0", 0, -5, 2.5, "2.5", float("nan"),
                                   float("inf"), None, True, [10]])
def test_parse_speed_refuses_what_is_no_speed(value):
    with pytest.raises(ValueError):
        V.parse_speed(value)


def test_speed_text_reads_back():
    from bpviz.training import SPEEDS
    for speed in SPEEDS:
        assert V.parse_speed(V.speed_text(speed)) == speed
        assert V.parse_speed(V.speed_text(speed, grouped=True)) == speed
    assert V.speed_text(1000) == "1000" and V.speed_text(1000, grouped=True) == "1,000"
    assert V.speed_text(None) == "max"
    assert V.nearest_speed(40, SPEEDS) == 30 and V.nearest_speed(700, SPEEDS) == 1000
    assert V.nearest_speed(None, SPEEDS) is None


def test_nice_ceiling_on_both_scales():
    # the diagram's 1-2-5 scale, worked by hand
    assert [V.nice_ceiling(x) for x in (0.031, 0.05, 0.051, 1, 1.01, 2, 3, 999, 1001)] == \
        pytest.approx([0.05, 0.05, 0.1, 1, 2, 2, 5, 1000, 2000])
    # the cost curve's finer axis
    fine = [V.nice_ceiling(x, V.STEPS_FINE) for x in (1, 1.2, 1.6, 2.5, 4, 7, 8, 999, 1001)]
    assert fine == pytest.approx([1, 1.5, 2, 3, 5, 7.5, 10, 1000, 1500])
