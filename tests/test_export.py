"""Export: PNG at the requested pixel size, SVG with vector curves that every viewer draws alike,
CSV numbers equal to the engine's arrays, GIF frame counts, "Export all" with its manifest, atomic
writes with clear messages, and the menus that lead there."""

import csv
import errno
import json
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage, QPainter

from bpviz.engine import fileset
from bpviz.ui.export import export
from bpviz.ui.export import pictures as formats
from bpviz.ui.plotting import style
from bpviz.ui.export.export import GIF_MAX_FRAMES, ExportError, export_all, export_panel, film
from bpviz.ui.export.pictures import clean_svg

PANELS = ("network", "boundary", "surface", "cost")
SVG = "{http://www.w3.org/2000/svg}"
PASSES = 5


@pytest.fixture
def window(qtbot, open_window):
    """The classic example after a few single passes (one snapshot each), the surface computed."""
    w = open_window(size=(1400, 900))
    for k in range(1, PASSES + 1):
        w.step()
        qtbot.waitUntil(lambda: w.latest.pass_count == k, timeout=10000)
    w.paint_now()
    qtbot.waitUntil(lambda: w.surface.is_idle() and w.surface.current_slice() is not None,
                    timeout=30000)
    w.paint_now()
    return w


def view_size(w, name):
    size = w.exporter.panels[name].view.viewport().size()
    return size.width(), size.height()


def rgb(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, :3 * image.width()].reshape(image.height(), image.width(), 3).astype(int)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


# -- PNG ---------------------------------------------------------------------------------------

def test_png_has_the_panel_size_times_the_scale(window, tmp_path):
    for name in PANELS:
        w, h = view_size(window, name)
        for scale in (1, 2, 4):
            path = tmp_path / f"{name}@{scale}.png"
            assert export_panel(window, name, "png", path, scale=scale) == [path]
            with Image.open(path) as im:
                assert im.format == "PNG" and im.size == (w * scale, h * scale)
                colours = im.convert("RGB").getcolors(maxcolors=1 << 20)
                assert colours is None or len(colours) > 20        # a picture, not a blank
    with pytest.raises(ExportError, match="scale"):
        export_panel(window, "cost", "png", tmp_path / "x.png", scale=0)


def test_svg_painter_draws_what_the_scene_draws(window):
    """paint_items (used for SVG) gives the same raster picture as QGraphicsScene.render."""
    export._prepare(window)
    for name in PANELS:
        view = window.exporter.panels[name].view
        reference = export.render_png(view, 1)
        mine = QImage(reference.size(), QImage.Format.Format_ARGB32)
        mine.fill(Qt.GlobalColor.white)
        painter = QPainter(mine)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        with formats._export_mode(view):
            formats.paint_items(view, painter)
        painter.end()
        assert (np.abs(rgb(reference) - rgb(mine)).max(axis=2) > 32).mean() < 1e-3, name


# -- SVG ---------------------------------------------------------------------------------------

def stroked_shapes(root):
    """(stroke colour, element) for every path and polyline, with the stroke it inherits."""
    out = []

    def walk(elem, stroke):
        for child in elem:
            s = child.get("stroke", stroke)
            tag = child.tag.replace(SVG, "")
            if tag in ("path", "polyline"):
                out.append((s, child))
            elif tag == "g":
                walk(child, s)

    walk(root, None)
    return out


def segments(elem):
    """Line pieces an element draws: one per polyline, one per move-to in a path."""
    return 1 if elem.tag == SVG + "polyline" else elem.get("d").count("M")


def hex_colour(pen):
    c = pen.color()
    return f"#{c.red():02x}{c.green():02x}{c.blue():02x}"


def test_svg_has_size_viewbox_title_and_vector_curves(window, tmp_path):
    for name in PANELS:
        path = tmp_path / f"{name}.svg"
        export_panel(window, name, "svg", path)
        root = ET.parse(path).getroot()
        w, h = view_size(window, name)
        assert (root.get("width"), root.get("height")) == (str(w), str(h))
        assert root.get("viewBox") == f"0 0 {w} {h}"
        assert root.find(SVG + "title").text.startswith("bpviz")
        shapes = stroked_shapes(root)
        assert shapes, name
        # curves carry pixel coordinates, no data-space transform a viewer could mis-scale
        assert not any(e.get("vector-effect") == "non-scaling-stroke" for _, e in shapes)
        for _, e in shapes:
            if e.tag == SVG + "polyline":
                xs = [float(p.split(",")[0]) for p in e.get("points").split()]
                assert -w <= min(xs) and max(xs) <= 2 * w

    # the cost curve (train loss and accuracy) is drawn as vector paths in its colour
    cost = ET.parse(tmp_path / "cost.svg").getroot()
    curves = [n for n in ("loss", "accuracy") if window.cost.is_drawn(n)]
    train = "#{:02x}{:02x}{:02x}".format(*style.TRAIN_COLOR)
    assert sum(segments(e) for s, e in stroked_shapes(cost) if s == train) >= len(curves) == 2

    # every drawn network edge is a vector line in its bin's colour
    net = ET.parse(tmp_path / "network.svg").getroot()
    drawn = {}
    for curve in window.network.edge_items().values():
        x, _ = curve.getData()
        if x is not None and len(x):
            colour = hex_colour(curve.opts["pen"])
            drawn[colour] = drawn.get(colour, 0) + len(x) // 2
    assert sum(drawn.values()) == 15                       # 2·3 + 3·3 edges
    found = {}
    for s, e in stroked_shapes(net):
        found[s] = found.get(s, 0) + segments(e)
    for colour, n in drawn.items():
        assert found.get(colour, 0) >= n, colour
    assert len(net.findall(f".//{SVG}image")) == 8        # the neuron heatmaps, nothing else


def test_clean_svg_maps_curves_to_pixels_and_merges_clip_paths():
    qt_svg = f"""<svg xmlns="{SVG[1:-1]}" width="10mm" height="5mm" viewBox="0 0 40 20">
<defs><clipPath id="c1"><path d="M0,0 L40,0 L40,20 Z"/></clipPath>
<clipPath id="c2"><path d="M0,0 L40,0 L40,20 Z"/></clipPath></defs>
<g clip-path="url(#c1)"><g stroke="#ff0000" stroke-width="0" font-family="Sans Serif"
 transform="matrix(2,0,0,-3,10,20)">
<path vector-effect="non-scaling-stroke" d="M0,0 L1,1 C1,2 2,2 2,1"/>
<polyline vector-effect="non-scaling-stroke" points="0,0 1,1 "/>
<text x="1" y="2">t</text></g></g>
<g clip-path="url(#c2)"><g stroke="none"/></g></svg>""".encode()
    root = ET.fromstring(clean_svg(qt_svg, 40, 20))
    assert (root.get("width"), root.get("height")) == ("40", "20")
    g = root.findall(SVG + "g")[0][0]
    path, polyline, text = list(g)
    assert path.get("d") == "M 10,20 L 12,17 C 12,14 14,14 14,17"
    assert polyline.get("points") == "10,20 12,17"
    assert path.get("vector-effect") is None and g.get("transform") is None
    assert text.get("transform") == "matrix(2,0,0,-3,10,20)"
    assert g.get("stroke-width") == "1" and g.get("font-family") == "Sans Serif, sans-serif"
    assert len(root.findall(f".//{SVG}clipPath")) == 1
    assert {e.get("clip-path") for e in root.findall(SVG + "g")} == {"url(#c1)"}


# -- CSV ---------------------------------------------------------------------------------------

@pytest.mark.run_modes("process", "thread")
def test_csv_numbers_equal_the_engine_arrays(window, tmp_path):
    window.set_focus("mean")             # the batch mean's columns (bpviz opens on sample 0)
    snap = window.latest
    history_header, history = window.host.query("history")     # the training session's own

    written = export_panel(window, "network", "csv", tmp_path / "network.csv")
    assert [p.name for p in written] == ["network.csv", "network_neurons.csv"]
    header, rows = read_csv(tmp_path / "network.csv")
    assert header == ["layer", "from", "to", "weight", "gradient", "error_signal", "update",
                      "weight_after", "focus"]
    assert len(rows) == sum(W.size for W in snap.weights)
    for layer, i, j, *values, focus in rows:
        assert focus == "mean"
        wi, i, j = int(layer) - 1, int(i), int(j)
        expected = [a[wi][i, j] for a in (snap.trace_weights, snap.grad_weights,
                                          snap.edge_signals, snap.update_weights, snap.weights)]
        assert [float(v) for v in values] == expected
    header, rows = read_csv(tmp_path / "network_neurons.csv")
    assert header[5:8] == ["activation_mean", "delta_mean", "delta_mean_abs"]
    for layer, i, _act, _delta, _z, act, delta, delta_abs, bias, bias_grad, _focus in rows:
        layer, i = int(layer), int(i)
        assert float(act) == snap.activation_mean[layer][i]
        if layer == 0:
            assert delta == delta_abs == bias == bias_grad == ""
        else:
            assert [float(delta), float(delta_abs), float(bias), float(bias_grad)] == [
                snap.delta_mean[layer - 1][i], snap.delta_abs_mean[layer - 1][i],
                snap.biases[layer - 1][i], snap.grad_biases[layer - 1][i]]

    export_panel(window, "cost", "csv", tmp_path / "cost.csv")
    header, rows = read_csv(tmp_path / "cost.csv")
    assert header == history_header
    assert header[:5] == ["epoch", "loss", "accuracy", "test_loss", "test_accuracy"]
    np.testing.assert_array_equal(np.array(rows, dtype=float), history)
    header, rows = read_csv(tmp_path / "cost_passes.csv")
    assert header == ["pass", "position", "loss"] and len(rows) == PASSES
    assert [int(r[0]) for r in rows] == list(range(1, PASSES + 1))
    assert [float(r[2]) for r in rows] == window.cost.series("pass_loss")[1].tolist()
    assert float(rows[0][2]) == 2.0981205629348856

    export_panel(window, "surface", "csv", tmp_path / "surface.csv")
    slc = window.surface.current_slice()
    header, rows = read_csv(tmp_path / "surface.csv")
    assert header == [slc.axis_x.label(), slc.axis_y.label(), "loss"]
    grid = np.array(rows, dtype=float).reshape(len(slc.ys), len(slc.xs), 3)
    np.testing.assert_array_equal(grid[0, :, 0], slc.xs)
    np.testing.assert_array_equal(grid[:, 0, 1], slc.ys)
    np.testing.assert_array_equal(grid[:, :, 2], slc.loss)
    header, rows = read_csv(tmp_path / "surface_path.csv")
    assert header == ["point", "pass", slc.axis_x.label(), slc.axis_y.label()]
    assert rows[-1][:2] == ["current", str(snap.pass_count)]
    w_x, w_y = (snap.weights[a.layer][a.i, a.j] for a in (slc.axis_x, slc.axis_y))
    assert [float(v) for v in rows[-1][2:]] == pytest.approx([w_x, w_y], abs=1e-12)
    assert [r[0] for r in rows[:-1]] == ["path"] * (len(rows) - 1) and len(rows) > PASSES

    export_panel(window, "boundary", "csv", tmp_path / "boundary.csv")
    b, ds = snap.boundary, window.dataset
    header, rows = read_csv(tmp_path / "boundary.csv")
    assert header == ["x1", "x2", "output_0", "output_1", "output_2"]
    grid = np.array(rows, dtype=float).reshape(len(b.ys), len(b.xs), 5)
    np.testing.assert_array_equal(grid[0, :, 0], b.xs)
    np.testing.assert_array_equal(grid[:, 0, 1], b.ys)
    np.testing.assert_array_equal(grid[:, :, 2:], b.output)
    header, rows = read_csv(tmp_path / "boundary_points.csv")
    assert header == ["x1", "x2", "label", "split"]
    np.testing.assert_array_equal(np.array([r[:2] for r in rows], dtype=float), ds.X_train)
    assert [int(r[2]) for r in rows] == ds.y_train.tolist()
    assert {r[3] for r in rows} == {"train"}             # this preset has no test split


# -- GIF ---------------------------------------------------------------------------------------

def test_gif_has_the_requested_number_of_frames(window, tmp_path):
    kept = len(film(window, GIF_MAX_FRAMES))
    assert kept >= PASSES + 1
    for name in PANELS:
        path = tmp_path / f"{name}.gif"
        export_panel(window, name, "gif", path, frames=3)
        with Image.open(path) as im:
            assert im.n_frames == 3
            w, h = view_size(window, name)
            assert im.size == (w, h + formats.CAPTION_HEIGHT)
    export_panel(window, "network", "gif", tmp_path / "all.gif", frames=GIF_MAX_FRAMES)
    with Image.open(tmp_path / "all.gif") as im:
        assert im.n_frames == kept                          # as many as are kept
    # the live surface shows the newest point again afterwards
    assert window.surface.marker.pos().x() == pytest.approx(
        window.surface.current_result().coordinates(
            export.flatten(window.latest.weights, window.latest.biases))[0])


def test_gif_without_pillow_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ExportError, match="Pillow"):
        formats._pillow()


# -- Export all --------------------------------------------------------------------------------

@pytest.mark.run_modes("process", "thread")
def test_export_all_writes_every_file_and_a_manifest(window, tmp_path):
    folder = tmp_path / "figures"                          # created on the way
    written = export_all(window, folder)
    names = {p.name for p in written}
    companions = {"network_neurons.csv", "cost_passes.csv", "surface_path.csv",
                  "boundary_points.csv"}
    expected = {f"{n}{suffix}" for n in PANELS for suffix in (".png", "@2x.png", ".svg", ".csv")}
    assert names == expected | companions | {"manifest.json"}
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)   # no temporary files
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["config"] == json.loads(json.dumps(window.config.to_dict()))
    assert manifest["bpviz_version"] and manifest["date"]
    assert manifest["dataset"]["name"] == "gaussian-clouds"
    assert manifest["dataset"]["params"]["n_samples"] == 1500
    assert manifest["snapshot"]["pass_count"] == window.latest.pass_count == PASSES
    assert manifest["snapshot"]["epoch"] == window.latest.epoch
    for entry in manifest["files"]:
        assert (folder / entry["file"]).stat().st_size == entry["bytes"]
    pngs = {e["file"]: e["scale"] for e in manifest["files"] if e["format"] == "png"}
    assert pngs["cost@2x.png"] == 2 and pngs["cost.png"] == 1
    with Image.open(folder / "cost@2x.png") as im:
        w, h = view_size(window, "cost")
        assert im.size == (2 * w, 2 * h)


# -- failures ------------------------------------------------------------------------------------

def test_a_failed_write_leaves_nothing_behind_and_names_the_path(window, tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    missing = out / "no such folder" / "cost.png"
    with pytest.raises(ExportError) as err:
        export_panel(window, "cost", "png", missing)
    assert str(missing) in str(err.value) and "\n" not in str(err.value)

    target = out / "cost.csv"
    target.write_text("the old file\n")

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", str(dst))

    with monkeypatch.context() as patch:
        patch.setattr(fileset.os, "replace", refuse)
        for fmt, name in (("csv", "cost.csv"), ("svg", "cost.svg"), ("gif", "cost.gif")):
            with pytest.raises(ExportError, match="Permission denied") as err:
                export_panel(window, "cost", fmt, out / name, frames=2)
            assert str(out / name) in str(err.value)
    assert target.read_text() == "the old file\n"
    assert [p.name for p in out.iterdir()] == ["cost.csv"]

    def half_then_fail(tmp):
        tmp.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left") as err:
        fileset.write_file(target, half_then_fail)
    assert err.value.filename == str(target)
    assert target.read_text() == "the old file\n"
    assert [p.name for p in out.iterdir()] == ["cost.csv"]

    # through the window: a message box and a status line, no exception
    assert window.exporter.export_to("cost", "png", missing) == []
    assert str(missing) in window.last_error


def test_export_all_replaces_every_file_or_none(qtbot, window, tmp_path, monkeypatch):
    """A file that cannot be put in place (a folder in its way), or a failure half-way through
    writing: every old file of the folder is left byte for byte, and no temporary file stays."""
    folder = tmp_path / "figures"
    export_all(window, folder)
    old = {p.name: p.read_bytes() for p in folder.iterdir()}
    window.step()                                            # the next export differs
    qtbot.waitUntil(lambda: window.latest.pass_count == PASSES + 1, timeout=10000)
    window.paint_now()
    (folder / "surface.svg").unlink()
    (folder / "surface.svg").mkdir()                         # written after network's files
    with pytest.raises(ExportError, match="surface.svg") as err:
        export_all(window, folder)
    assert "\n" not in str(err.value)
    assert sorted(p.name for p in folder.iterdir()) == sorted(old)
    assert all((folder / name).read_bytes() == data for name, data in old.items()
               if name != "surface.svg")

    (folder / "surface.svg").rmdir()
    real = export.render_svg
    calls = []

    def third_svg_fails(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise ExportError("Qt could not render the third panel")
        return real(*args, **kwargs)
    monkeypatch.setattr(export, "render_svg", third_svg_fails)
    with pytest.raises(ExportError, match="third panel"):
        export_all(window, folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted(set(old) - {"surface.svg"})
    assert all((folder / name).read_bytes() == data for name, data in old.items()
               if name != "surface.svg")

    # a panel's CSV and its companions go together too
    monkeypatch.setattr(export, "render_svg", real)
    (folder / "network_neurons.csv").unlink()
    (folder / "network_neurons.csv").mkdir()
    with pytest.raises(ExportError, match="network_neurons.csv"):
        export_panel(window, "network", "csv", folder / "network.csv")
    assert (folder / "network.csv").read_bytes() == old["network.csv"]
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_an_export_that_cannot_be_flushed_to_disk_leaves_the_old_files(window, tmp_path,
                                                                       monkeypatch):
    """Every file is flushed before anything is put in place: a disk error on the fifth file
    of "Export all" (network_neurons.csv) names it and leaves the folder as it was."""
    folder = tmp_path / "figures"
    export_all(window, folder)
    old = {p.name: p.read_bytes() for p in folder.iterdir()}
    real_fsync = fileset.os.fsync
    calls = []

    def fifth_fails(fd):
        calls.append(fd)
        if len(calls) == 5:
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(fd)
    monkeypatch.setattr(fileset.os, "fsync", fifth_fails)
    with pytest.raises(ExportError, match="Input/output error") as err:
        export_all(window, folder)
    assert str(folder / "network_neurons.csv") in str(err.value)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == old


def test_unknown_panel_or_format_is_a_clear_error(window, tmp_path):
    with pytest.raises(ExportError, match="no panel named 'histogram'"):
        export_panel(window, "histogram", "png", tmp_path / "x.png")
    with pytest.raises(ExportError, match="unknown format 'jpg'"):
        export_panel(window, "cost", "jpg", tmp_path / "x.jpg")


# -- menus ---------------------------------------------------------------------------------------

def test_file_menu_and_right_click_offer_every_format(qtbot, window):
    export_menu = next(a.menu() for a in window.file_menu.actions()
                       if a.menu() is not None and a.text() == "&Export")
    titles = [a.text() for a in export_menu.actions() if not a.isSeparator()]
    assert titles == ["Network", "Decision boundary", "Error surface", "Cost curve",
                      "Export all…", "Python script…"]
    formats = [a.text() for a in export_menu.actions()[0].menu().actions()]
    assert formats == ["PNG (1×)…", "PNG (2×)…", "PNG (4×)…", "SVG…", "CSV data…",
                       "Animated GIF of the run…"]

    # right click on the diagram (no pyqtgraph menu there): our "Export…" menu
    menu = window.exporter.context_menu("network")
    assert [a.text() for a in menu.actions()] == ["Export…"]
    assert [a.text() for a in menu.actions()[0].menu().actions()] == formats
    view = window.exporter.panels["network"].view
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.RightButton, pos=QPoint(5, 5))
    qtbot.waitUntil(menu.isVisible, timeout=3000)
    menu.close()

    # where pyqtgraph shows its own menu (the cost plot), its "Export..." opens ours
    cost_formats = window.exporter.context_menu("cost").actions()[0].menu()
    window.exporter.panels["cost"].view.scene().contextMenu[0].trigger()
    qtbot.waitUntil(cost_formats.isVisible, timeout=3000)
    cost_formats.close()
