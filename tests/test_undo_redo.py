"""Undo and Redo of re-initialisations, and their scopes: a lesson's runs never mix with the
learner's. The session alone (no Qt) here; the window's Ctrl+Z and Ctrl+Shift+Z across the
lessons are in tests/test_lessons.py."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from bpviz.engine.config import Config, build
from bpviz.training import TrainingSession
from tests.test_training import Recorder


def trained_weights(config, passes):
    """The weights after ``passes`` passes of a freshly built trainer (computed apart from the
    session)."""
    _, net, trainer = build(replace(config))
    for _ in range(passes):
        trainer.step()
    return [w.copy() for w in net.weights]


def same(weights, expected):
    return all(np.array_equal(a, b) for a, b in zip(weights, expected))


def steps(session, n):
    for _ in range(n):
        session.handle(("step",))


def test_redo_brings_back_what_undo_replaced():
    cfg = Config.preset("gaussian-clouds")
    rec = Recorder()
    session = TrainingSession(replace(cfg), rec)
    steps(session, 5)
    session.handle(("reset",))
    steps(session, 2)                                  # two passes after the reset
    assert rec.last("undo") == ("reset", "5 epochs of training")
    assert rec.last("redo") is None
    session.handle(("undo",))
    assert same(session.trainer.network.weights, trained_weights(cfg, 5))
    assert rec.last("undo") is None
    assert rec.last("redo") == ("reset", "2 epochs of training")
    assert "undone (reset)" in rec.last("snapshot").message
    session.handle(("redo",))
    assert session.trainer.pass_count == 2
    assert same(session.trainer.network.weights, trained_weights(cfg, 2))
    assert rec.last("redo") is None and rec.last("undo") == ("reset", "5 epochs of training")
    assert "redone (reset)" in rec.last("snapshot").message
    session.handle(("undo",))                          # and back and forth, nothing lost
    assert session.trainer.pass_count == 5
    session.handle(("redo",))
    assert session.trainer.pass_count == 2


def test_a_new_change_ends_what_redo_could_bring_back():
    rec = Recorder()
    session = TrainingSession(Config.preset("gaussian-clouds"), rec)
    steps(session, 3)
    session.handle(("reset",))
    session.handle(("undo",))
    assert rec.last("redo") is not None
    session.handle(("reset",))                         # a new reset: the redone run is gone
    assert rec.last("redo") is None
    session.handle(("redo",))
    assert rec.last("failed").startswith("nothing to redo")
    assert session.trainer.pass_count == 0


def test_a_scope_keeps_its_runs_to_itself():
    mine = Config.preset("gaussian-clouds")
    lesson = replace(Config.preset("gaussian-clouds"), hidden=(6, 6), lr=0.5)
    rec = Recorder()
    session = TrainingSession(replace(mine), rec)
    steps(session, 4)
    session.handle(("reset",))                         # the learner's Undo: 4 passes
    steps(session, 3)
    assert rec.last("undo") == ("reset", "4 epochs of training")
    session.handle(("undo_scope", "lesson 09"))
    assert rec.last("undo") is None and rec.last("redo") is None
    session.handle(("rebuild", replace(lesson)))       # the lesson's network
    assert rec.last("undo") is None                    # the learner's 3 passes are not in it
    session.handle(("undo",))
    assert rec.last("failed").startswith("nothing to undo")
    assert session.trainer.network.sizes == [2, 6, 6, 3]
    steps(session, 2)
    session.handle(("reset",))
    session.handle(("undo",))                          # the lesson's own run comes back
    assert same(session.trainer.network.weights, trained_weights(lesson, 2))
    session.handle(("undo_scope", "lesson 10"))        # the next lesson: nothing of lesson 09's
    session.handle(("rebuild", replace(mine)))
    assert rec.last("undo") is None and rec.last("redo") is None
    session.handle(("undo_scope", ""))                 # leaving: the learner's run again
    session.handle(("rebuild", replace(mine)))
    assert rec.last("undo") == ("reset", "4 epochs of training")
    assert rec.last("redo") is None
    session.handle(("undo",))
    assert session.trainer.network.sizes == [2, 3, 3]
    assert same(session.trainer.network.weights, trained_weights(mine, 4))
    session.handle(("undo",))                          # and nothing of a lesson behind it
    assert rec.last("failed").startswith("nothing to undo")
