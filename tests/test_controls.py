"""The controls panel, driven as a person drives it: clicks at window positions, typing and Return,
arrow keys and slider drags; what the panel then shows and what it emits."""

from dataclasses import replace

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QStyle, QStyleOptionSlider, QStyleOptionSpinBox

from bpviz.engine.config import MAX_HIDDEN_LAYERS, MAX_NEURONS_PER_LAYER, RANGES, Config
from bpviz.ui.window.controls import ControlsPanel


@pytest.fixture
def make_panel(qtbot):
    def make(preset="gaussian-clouds", **overrides):
        cfg = replace(Config.preset(preset), **overrides)
        panel = ControlsPanel(cfg)
        qtbot.addWidget(panel)
        panel.resize(320, 900)
        panel.show()
        qtbot.waitExposed(panel)
        panel.hyper_seen, panel.configs_seen = [], []
        panel.hyperChanged.connect(panel.hyper_seen.append)
        panel.configChanged.connect(panel.configs_seen.append)
        return panel
    return make


def centre(widget, panel):
    """The centre of ``widget`` in ``panel``'s window coordinates."""
    return widget.mapTo(panel.window(), widget.rect().center())


def click_at(qtbot, panel, pos: QPoint):
    """A left click at ``pos`` of the window: lands on whatever widget is there."""
    QTest.mouseClick(panel.window().windowHandle(), Qt.LeftButton, Qt.NoModifier, pos)
    QApplication.processEvents()    # let layouts settle, as between two real clicks


def type_into(qtbot, panel, box, text):
    """Click into ``box``, select its text, type ``text`` and press Return."""
    click_at(qtbot, panel, centre(box.lineEdit(), panel))
    assert box.hasFocus()
    QTest.keyClick(box, Qt.Key_A, Qt.ControlModifier)
    QTest.keyClicks(box, text)
    QTest.keyClick(box, Qt.Key_Return)


def test_add_and_remove_layer_buttons_stay_put(make_panel, qtbot):
    panel = make_panel()
    add, remove = panel.hidden.add, panel.hidden.remove
    assert add.text() == "+ Add layer" and remove.text() == "− Remove layer"
    add_at, remove_at = centre(add, panel), centre(remove, panel)
    for n in range(2, 5):                               # three clicks at the same spot
        assert panel.window().childAt(add_at) is add    # the next click lands on the button
        with qtbot.waitSignal(panel.configChanged, timeout=2000) as sig:
            click_at(qtbot, panel, add_at)
        assert sig.args[0].hidden == (3,) * n
        assert centre(add, panel) == add_at and centre(remove, panel) == remove_at
        assert panel.hidden.title.text().startswith(f"Hidden layers: {n}")
    # one labelled box per layer, in order, below the buttons
    labels = [row.findChildren(type(panel.hidden.title))[0].text() for row in panel.hidden.rows]
    assert labels == ["layer 1", "layer 2", "layer 3", "layer 4"]
    assert all(row.geometry().top() > add.geometry().bottom() for row in panel.hidden.rows)

    with qtbot.waitSignal(panel.configChanged, timeout=2000) as sig:
        click_at(qtbot, panel, remove_at)
    assert sig.args[0].hidden == (3, 3, 3) and panel.config().hidden == (3, 3, 3)
    assert centre(add, panel) == add_at
    assert [s.text() for s in panel.hidden.spins] == ["3", "3", "3"]


def test_layer_limits_disable_the_buttons_and_say_why(make_panel, qtbot):
    panel = make_panel(hidden=(5,) * (MAX_HIDDEN_LAYERS - 1))
    add = panel.hidden.add
    with qtbot.waitSignal(panel.configChanged, timeout=2000) as sig:
        click_at(qtbot, panel, centre(add, panel))
    assert sig.args[0].hidden == (5,) * MAX_HIDDEN_LAYERS
    assert not add.isEnabled()
    assert f"At most {MAX_HIDDEN_LAYERS} hidden layers" in add.toolTip()
    click_at(qtbot, panel, centre(add, panel))           # a click on the disabled button
    panel.flush()
    assert len(panel.hidden.spins) == MAX_HIDDEN_LAYERS and len(panel.configs_seen) == 1

    panel = make_panel(hidden=(2,))
    with qtbot.waitSignal(panel.configChanged, timeout=2000) as sig:
        click_at(qtbot, panel, centre(panel.hidden.remove, panel))
    assert sig.args[0].hidden == ()
    assert not panel.hidden.remove.isEnabled()
    assert "no hidden layer to remove" in panel.hidden.remove.toolTip()
    assert panel.hidden.empty.isVisible() and not panel.activation.isEnabled()
    with qtbot.waitSignal(panel.configChanged, timeout=2000) as sig:
        click_at(qtbot, panel, centre(panel.hidden.add, panel))
    assert sig.args[0].hidden == (4,) and not panel.hidden.empty.isVisible()


def test_neurons_of_a_layer_typed(make_panel, qtbot):
    panel = make_panel(hidden=(3, 3))
    second = panel.hidden.spins[1]
    with qtbot.waitSignal(panel.configChanged, timeout=2000) as sig:
        type_into(qtbot, panel, second, "12")
    assert sig.args[0].hidden == (3, 12) and second.text() == "12"

    # more than the limit: refused, with the range, nothing rebuilt
    type_into(qtbot, panel, second, str(MAX_NEURONS_PER_LAYER + 88))
    panel.flush()
    assert second.text() == "12" and panel.config().hidden == (3, 12)
    assert second.note.isVisible()
    assert second.note.text() == (f"neurons in layer 2 must be a whole number between 1 and "
                                  f"{MAX_NEURONS_PER_LAYER}; {MAX_NEURONS_PER_LAYER + 88} was not "
                                  f"applied")
    assert len(panel.configs_seen) == 1

    # the up arrow of layer 1's box, clicked where it is drawn
    first = panel.hidden.spins[0]
    opt = QStyleOptionSpinBox()
    first.initStyleOption(opt)
    up = first.style().subControlRect(QStyle.ComplexControl.CC_SpinBox, opt,
                                      QStyle.SubControl.SC_SpinBoxUp, first)
    with qtbot.waitSignal(panel.configChanged, timeout=2000) as sig:
        click_at(qtbot, panel, first.mapTo(panel.window(), up.center()))
    assert sig.args[0].hidden == (4, 12) and first.text() == "4"


def test_a_typed_learning_rate_up_to_1e6_is_applied_as_typed(make_panel, qtbot):
    panel = make_panel()
    box, slider = panel.lr.spin, panel.lr.slider
    assert box.text() == "1.5"
    type_into(qtbot, panel, box, "50")
    assert box.text() == "50" and panel.hyper_seen == [{"lr": 50.0}]
    assert panel.config().lr == 50.0 and not box.note.isVisible()
    assert slider.value() == panel.lr._to_pos(50.0)
    type_into(qtbot, panel, box, "100")
    assert box.text() == "100" and panel.hyper_seen[-1] == {"lr": 100.0}
    assert slider.value() == slider.maximum()
    # beyond the slider's end, up to the range's: typed, applied, the slider stays at its end
    type_into(qtbot, panel, box, "1e6")
    assert box.text() == "1000000" and panel.hyper_seen[-1] == {"lr": 1e6}
    assert slider.value() == slider.maximum() and not box.note.isVisible()


def test_a_typed_learning_rate_out_of_range_is_refused_visibly(make_panel, qtbot):
    panel = make_panel()
    box = panel.lr.spin
    type_into(qtbot, panel, box, "2e6")
    assert box.text() == "1.5"                       # the value in force, unchanged
    assert panel.hyper_seen == [] and panel.config().lr == 1.5
    assert box.note.isVisible()
    assert box.note.text() == ("learning rate must be between 0.000001 and 1000000; 2e6 was not "
                               "applied")
    type_into(qtbot, panel, box, "fast")
    assert box.text() == "1.5" and panel.hyper_seen == []
    assert "“fast” was not applied" in box.note.text()
    type_into(qtbot, panel, box, "0.02")             # a good value clears the note
    assert box.text() == "0.02" and panel.hyper_seen == [{"lr": 0.02}]
    assert not box.note.isVisible()


def test_learning_rate_arrow_keys_step_1_2_5(make_panel, qtbot):
    panel = make_panel()
    box = panel.lr.spin
    click_at(qtbot, panel, centre(box.lineEdit(), panel))
    QTest.keyClick(box, Qt.Key_Up)
    QTest.keyClick(box, Qt.Key_Up)
    QTest.keyClick(box, Qt.Key_Down)
    QTest.keyClick(box, Qt.Key_Down)
    QTest.keyClick(box, Qt.Key_Down)
    assert [h["lr"] for h in panel.hyper_seen] == [2.0, 5.0, 2.0, 1.0, 0.5]
    assert box.text() == "0.5"


def test_dragging_the_learning_rate_slider(make_panel, qtbot):
    panel = make_panel()
    slider = panel.lr.slider
    opt = QStyleOptionSlider()
    slider.initStyleOption(opt)
    handle = slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, opt,
                                           QStyle.SubControl.SC_SliderHandle, slider)
    y = handle.center().y()
    QTest.mousePress(slider, Qt.LeftButton, Qt.NoModifier, handle.center())
    for x in range(handle.center().x(), slider.width() + 20, 5):
        QTest.mouseMove(slider, QPoint(x, y))
    QTest.mouseRelease(slider, Qt.LeftButton, Qt.NoModifier, QPoint(slider.width() + 20, y))
    assert panel.lr.spin.text() == "100" and panel.hyper_seen[-1] == {"lr": 100.0}
    assert all(h["lr"] == float(f"{h['lr']:.3g}") for h in panel.hyper_seen)   # readable values

    QTest.mousePress(slider, Qt.LeftButton, Qt.NoModifier, QPoint(slider.width() - 3, y))
    for x in range(slider.width() - 3, -25, -5):
        QTest.mouseMove(slider, QPoint(x, y))
    QTest.mouseRelease(slider, Qt.LeftButton, Qt.NoModifier, QPoint(-25, y))
    assert panel.lr.spin.text() == "0.000001" and panel.hyper_seen[-1] == {"lr": 1e-6}
    assert panel.config().lr == 1e-6


# (box, typed, what the note says): each typed value lies outside the setting's range
REFUSALS = [
    ("momentum", "1", "momentum must be at least 0 and less than 1; 1 was not applied"),
    ("momentum", "-0.5", "momentum must be at least 0 and less than 1; -0.5 was not applied"),
    ("l2", "50", "L2 must be between 0 and 10; 50 was not applied"),
    ("l2", "-1e-3", "L2 must be between 0 and 10; -1e-3 was not applied"),
    ("batch", "100001", "batch size must be a whole number between 0 (full batch) and 100000; "
                        "100001 was not applied"),
    ("batch", "2.5", "batch size must be a whole number between 0 (full batch) and 100000; "
                     "2.5 was not applied"),
    ("seed", "-1", "seed must be a whole number between 0 and 2147483647; -1 was not applied"),
    ("seed", "3000000000", "seed must be a whole number between 0 and 2147483647; 3000000000 "
                           "was not applied"),
    ("noise", "12", "noise must be between 0 and 10; 12 was not applied"),
    ("samples", "3", "samples must be a whole number between 4 and 100000; 3 was not applied"),
    ("samples", "250000", "samples must be a whole number between 4 and 100000; 250000 was not "
                          "applied"),
    ("test_fraction", "0.95", "test fraction must be between 0 and 0.9; 0.95 was not applied"),
    # not whole numbers as typed, though a float rounds them to one: the flags refuse them too
    ("seed", "3.9999999999999999", "seed must be a whole number between 0 and 2147483647; "
                                   "3.9999999999999999 was not applied"),
    ("samples", "4.0", "samples must be a whole number between 4 and 100000; 4.0 was not "
                       "applied"),
    ("batch", "1e3", "batch size must be a whole number between 0 (full batch) and 100000; "
                     "1e3 was not applied"),
]


@pytest.mark.parametrize("name, typed, message", REFUSALS)
def test_typed_values_out_of_range_are_refused_with_the_range(make_panel, qtbot, name, typed,
                                                              message):
    panel = make_panel("xor")                       # momentum optimizer: every box is enabled
    box = getattr(panel, name)
    before, shown = box.value(), box.text()
    type_into(qtbot, panel, box, typed)
    panel.flush()
    assert box.text() == shown and box.value() == before
    assert box.note.isVisible() and box.note.text() == message
    assert panel.hyper_seen == [] and panel.configs_seen == []
    assert panel.config() == Config.preset("xor")


# (box, typed, the config field, the value the config then holds): exactly as typed
ACCEPTED = [
    ("momentum", "0.9999", "momentum", 0.9999),
    ("l2", "0.000001", "l2", 1e-6),
    ("l2", "1e-7", "l2", 1e-7),
    ("batch", "24", "batch_size", 24),
    ("batch", "full batch", "batch_size", 0),
    ("seed", "2147483647", "seed", 2147483647),
    ("noise", "0.123456789", "noise", 0.123456789),
    ("samples", "777", "n_samples", 777),
    ("test_fraction", "0.125", "test_fraction", 0.125),
]


@pytest.mark.parametrize("name, typed, field, value", ACCEPTED)
def test_typed_values_in_range_apply_exactly(make_panel, qtbot, name, typed, field, value):
    panel = make_panel("xor")
    box = getattr(panel, name)
    type_into(qtbot, panel, box, typed)
    panel.flush()
    assert not box.note.isVisible()
    assert getattr(panel.config(), field) == value
    if field in ("momentum", "l2", "batch_size"):
        assert panel.hyper_seen == [{field: value}]
    else:
        assert panel.configs_seen[-1] == panel.config()


def test_a_typed_value_applies_when_the_box_loses_focus(make_panel, qtbot):
    panel = make_panel()
    click_at(qtbot, panel, centre(panel.noise.lineEdit(), panel))
    QTest.keyClick(panel.noise, Qt.Key_A, Qt.ControlModifier)
    QTest.keyClicks(panel.noise, "0.35")
    assert panel.configs_seen == []                 # nothing while typing
    with qtbot.waitSignal(panel.configChanged, timeout=2000) as sig:
        QTest.keyClick(panel.noise, Qt.Key_Tab)     # on to the next box
    assert sig.args[0].noise == 0.35 and panel.noise.text() == "0.35"
    click_at(qtbot, panel, centre(panel.samples.lineEdit(), panel))
    QTest.keyClick(panel.samples, Qt.Key_A, Qt.ControlModifier)
    QTest.keyClicks(panel.samples, "2")
    click_at(qtbot, panel, centre(panel.seed.lineEdit(), panel))      # a click elsewhere
    assert panel.samples.text() == "1500"
    assert panel.samples.note.text() == ("samples must be a whole number between 4 and 100000; "
                                         "2 was not applied")


def test_set_config_shows_every_value_exactly(make_panel, qtbot):
    panel = make_panel()
    cfg = replace(Config.preset("gaussian-clouds"), optimizer="momentum", lr=1e-5,
                  momentum=0.9999, l2=1e-6, noise=0.0125, test_fraction=0.123456, seed=42,
                  batch_size=37, hidden=(7, 2))
    panel.set_config(cfg)
    shown = {name: getattr(panel, name).text()
             for name in ("momentum", "l2", "noise", "test_fraction", "seed", "batch")}
    assert panel.lr.spin.text() == "0.00001"
    assert shown == {"momentum": "0.9999", "l2": "0.000001", "noise": "0.0125",
                     "test_fraction": "0.123456", "seed": "42", "batch": "37"}
    assert [s.text() for s in panel.hidden.spins] == ["7", "2"]
    assert panel.config() == cfg
    values = (panel.lr.value(), panel.momentum.value(), panel.l2.value(), panel.noise.value(),
              panel.test_fraction.value())
    assert values == (1e-5, 0.9999, 1e-6, 0.0125, 0.123456)
    # the text reads back as the value in force, bit for bit
    assert float(panel.lr.spin.text()) == cfg.lr and float(shown["l2"]) == cfg.l2
    panel.flush()                           # a change set_config left pending would go now
    assert panel.hyper_seen == [] and panel.configs_seen == []      # no echo

    # a rate below what the box accepts for typing, as a session may hold: shown, not altered
    panel.set_config(replace(cfg, lr=3e-8))
    assert panel.lr.spin.text() == "3e-8" and panel.lr.value() == 3e-8
    # a structural change keeps the exact live values
    with qtbot.waitSignal(panel.configChanged, timeout=2000) as sig:
        click_at(qtbot, panel, centre(panel.hidden.add, panel))
    assert sig.args[0] == replace(cfg, lr=3e-8, hidden=(7, 2, 2), activation="sigmoid",
                                  n_samples=1500)


def test_refusal_note_clears_on_the_next_good_value_and_on_set_config(make_panel, qtbot):
    panel = make_panel("xor")
    type_into(qtbot, panel, panel.momentum, "3")
    assert panel.momentum.note.isVisible()
    panel.set_config(Config.preset("xor"))
    assert not panel.momentum.note.isVisible()
    type_into(qtbot, panel, panel.momentum, "3")
    click_at(qtbot, panel, centre(panel.momentum.lineEdit(), panel))
    QTest.keyClick(panel.momentum, Qt.Key_Up)        # 0.9 → 0.95
    assert panel.momentum.text() == "0.95" and not panel.momentum.note.isVisible()
    assert panel.hyper_seen == [{"momentum": 0.95}]


def test_grab_renders(make_panel, qtbot, tmp_path):
    panel = make_panel(hidden=(3, 8))
    type_into(qtbot, panel, panel.lr.spin, "500")
    path = tmp_path / "controls.png"
    assert panel.grab().save(str(path))
    assert path.stat().st_size > 5_000


# every box against the one table of ranges (bpviz.engine.config.RANGES)
BOXES = {"seed": "seed", "samples": "n_samples", "noise": "noise",
         "test_fraction": "test_fraction", "momentum": "momentum", "batch": "batch_size",
         "l2": "l2"}


def test_every_box_takes_its_range_from_the_table(make_panel):
    panel = make_panel("xor", hidden=(3, 3))
    boxes = {key: getattr(panel, name) for name, key in BOXES.items()}
    boxes["lr"] = panel.lr.spin
    for k, spin in enumerate(panel.hidden.spins):
        boxes[f"hidden {k}"] = spin
    for name, box in boxes.items():
        r = RANGES[name.split()[0]]
        assert (box.lo, box.hi, box.integer, box.hi_open) == (r.lo, r.hi, r.integer, r.hi_open), name
    assert len(panel.number_boxes()) == len(boxes)       # no numeric box left out


def test_a_configuration_at_the_top_of_every_range_shows_exactly(make_panel, qtbot):
    """What the command line and session files accept, the panel shows as it is, unchanged and
    without a refusal: the largest seed, batch size, samples and so on."""
    top = {key: (r.hi if not r.hi_open else 0.999999) for key, r in RANGES.items()
           if key not in ("hidden", "epochs", "divergence_factor")}
    top = {k: (int(v) if RANGES[k].integer else v) for k, v in top.items()}
    cfg = replace(Config.preset("xor"), hidden=(int(RANGES["hidden"].hi),) * 2, **top)
    Config.from_dict(cfg.to_dict())                      # a session may hold exactly this
    panel = make_panel("xor")
    panel.set_config(cfg)
    assert panel.config() == cfg
    assert panel.seed.text() == "2147483647" and panel.batch.text() == "100000"
    assert panel.samples.text() == "100000" and panel.lr.spin.text() == "1000000"
    assert [s.text() for s in panel.hidden.spins] == ["512", "512"]
    assert not any(box.note.isVisible() for box in panel.number_boxes())
    for box in panel.number_boxes():
        assert box.in_range(box.value())
    panel.flush()                           # a change set_config left pending would go now
    assert panel.hyper_seen == [] and panel.configs_seen == []
