"""The numpy edge raster: its lines are the pixels a hand-worked line takes and the pixels Qt's
aliased ``drawLines`` paints (up to one pixel), and a rendered frame equals painting the edges
level after level, edge after edge (the painter's algorithm)."""

import numpy as np
import pytest
import shiboken6
from PySide6.QtCore import QLineF
from PySide6.QtGui import QColor, QImage, QPainter, QPen

from bpviz.ui.network.edge_raster import line_pixels, plan_raster


def pixels_of(seg):
    edge, px, py = line_pixels(np.array([seg], float))
    assert set(edge.tolist()) <= {0}
    return list(zip(px.tolist(), py.tolist()))


def test_hand_worked_lines():
    assert pixels_of((2.5, 3.2, 6.9, 3.7)) == [(2, 3), (3, 3), (4, 3), (5, 3), (6, 3)]
    assert pixels_of((1.0, 5.0, 1.0, 1.0)) == [(1, 5), (1, 4), (1, 3), (1, 2), (1, 1)]
    assert pixels_of((0, 0, 3, 3)) == [(0, 0), (1, 1), (2, 2), (3, 3)]
    # slope 1/2, stepped along x: y = round(k / 2) with halves rounded up
    assert pixels_of((0, 0, 4, 2)) == [(0, 0), (1, 1), (2, 1), (3, 2), (4, 2)]
    # steep: stepped along y
    assert pixels_of((0, 0, 1, 3)) == [(0, 0), (0, 1), (1, 2), (1, 3)]
    assert pixels_of((7.3, 7.8, 7.6, 7.1)) == [(7, 7)]        # both ends in one pixel


def test_lines_are_connected_and_end_where_they_should():
    rng = np.random.default_rng(3)
    seg = rng.uniform(-20, 120, (200, 4))
    edge, px, py = line_pixels(seg)
    for e in range(len(seg)):
        x, y = px[edge == e], py[edge == e]
        ax, ay, bx, by = np.floor(seg[e]).astype(int)
        assert (x[0], y[0], x[-1], y[-1]) == (ax, ay, bx, by)
        assert len(x) == max(abs(bx - ax), abs(by - ay)) + 1
        assert np.all(np.maximum(abs(np.diff(x)), abs(np.diff(y))) == 1)   # 8-connected steps


def painters_algorithm(seg, clip, levels, colors):
    """Each drawn edge painted in turn, lower levels first, pixel by pixel in plain Python."""
    left, top, right, bottom = clip
    image = np.zeros((bottom - top, right - left), np.uint32)
    for level in range(1, int(levels.max()) + 1):
        for e in np.flatnonzero(levels == level):
            for x, y in pixels_of(seg[e]):
                if left <= x < right and top <= y < bottom:
                    image[y - top, x - left] = colors[level]
    return image


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_render_equals_painting_level_after_level(seed):
    rng = np.random.default_rng(seed)
    n = 300
    # fans like a diagram's (shared end points, heavy overlap) plus stray lines crossing the clip
    left_pts = rng.uniform(10, 90, (12, 2))
    right_pts = rng.uniform(10, 90, (12, 2)) + [60, 0]
    fans = np.array([[*left_pts[i], *right_pts[j]] for i in range(12) for j in range(12)])
    seg = np.vstack([fans, rng.uniform(-30, 180, (n - len(fans), 4))])
    clip = (5, 0, 140, 100)
    plan = plan_raster(seg, clip)
    colors = np.array([0, *rng.integers(1, 2**32, 9, dtype=np.uint32)], np.uint32)
    for _ in range(3):                       # one plan, several frames
        levels = rng.integers(0, 10, n).astype(np.uint8)
        image = plan.render(levels, colors).copy()
        expected = painters_algorithm(seg, clip, levels, colors)
        x0, y0 = plan.origin[0] - clip[0], plan.origin[1] - clip[1]
        placed = np.zeros_like(expected)
        placed[y0:y0 + plan.height, x0:x0 + plan.width] = image
        np.testing.assert_array_equal(placed, expected)
    assert 0 < plan.pixels.size < plan.writes          # overlapping fans: fewer pixels than writes


def test_frames_changing_a_few_edges_recompute_only_their_pixels():
    """After a first frame, a frame with the same colours recomputes only the pixels covered by
    edges whose level changed (up or down, to or from 0); the image still equals painting every
    level from scratch. New colours, or many changed edges, render the whole image."""
    rng = np.random.default_rng(7)
    hubs_left, hubs_right = rng.uniform(5, 40, (8, 2)), rng.uniform(5, 40, (8, 2)) + [80, 0]
    seg = np.array([[*a, *b] for a in hubs_left for b in hubs_right] * 2)   # 128: repeats overlap
    seg[64:] += rng.uniform(-3, 3, (64, 4))
    n, clip = len(seg), (0, 0, 130, 50)
    plan = plan_raster(seg, clip)
    colors = np.array([0, *rng.integers(1, 2**32, 6, dtype=np.uint32)], np.uint32)
    levels = rng.integers(0, 7, n).astype(np.uint8)

    def check(levels, colors):
        image = plan.render(levels, colors).copy()
        expected = painters_algorithm(seg, clip, levels, colors)
        x0, y0 = plan.origin
        np.testing.assert_array_equal(expected[y0:y0 + plan.height, x0:x0 + plan.width], image)
        assert not expected.sum() - image.sum()         # nothing outside the plan's image
        return plan.last_render_pixels

    assert check(levels, colors) == plan.pixels.size         # the first frame: everything
    partial = []
    for frame in range(12):
        levels = levels.copy()
        changed = rng.choice(n, 2, replace=False)
        levels[changed[0]] = 0 if frame % 3 == 0 else rng.integers(1, 7)    # hidden, or re-binned
        levels[changed[1]] = max(0, int(levels[changed[1]]) - 2)             # lower: pixels revert
        partial.append(check(levels, colors))
    assert all(p < plan.pixels.size for p in partial) and max(partial) > 0
    kept = plan.image.copy()
    np.testing.assert_array_equal(plan.render_full(levels, colors), kept)   # same, from scratch
    assert plan.last_render_pixels == plan.pixels.size
    assert check(levels, colors) == 0                        # nothing changed: nothing recomputed
    colors = colors.copy()
    colors[3] ^= 0x00FF00FF
    assert check(levels, colors) == plan.pixels.size         # new colours: everything
    levels = rng.integers(0, 7, n).astype(np.uint8)
    assert check(levels, colors) == plan.pixels.size         # most edges changed: everything


def test_level_count_and_an_empty_plan():
    plan = plan_raster(np.array([[0, 0, 10, 10]], float), (0, 0, 20, 20))
    with pytest.raises(ValueError, match="expected 1 levels"):
        plan.render(np.zeros(2, np.uint8), np.zeros(2, np.uint32))
    empty = plan_raster(np.array([[50, 50, 60, 60]], float), (0, 0, 20, 20))   # all outside
    assert empty.image.size == 0 and empty.writes == 0
    assert empty.render(np.ones(1, np.uint8), np.array([0, 1], np.uint32)).size == 0


def qt_pixels(seg, size):
    """Pixels Qt's raster engine paints for ``seg`` with an aliased one-pixel cosmetic pen."""
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(0)
    lines = np.ascontiguousarray(seg, dtype=np.float64)
    p = QPainter(image)
    pen = QPen(QColor(0, 0, 255))
    pen.setCosmetic(True)
    pen.setWidthF(1.0)
    p.setPen(pen)
    p.drawLines(shiboken6.wrapInstance(lines.ctypes.data, QLineF), len(lines))
    p.end()
    bits = np.frombuffer(image.constBits(), np.uint32).reshape(size, size)
    return bits != 0


def test_lines_are_where_qt_draws_them(qapp):
    """Every raster pixel is within one pixel of a pixel Qt paints, and the other way round."""
    rng = np.random.default_rng(7)
    size = 160
    seg = rng.uniform(5, size - 5, (60, 4))
    ours = np.zeros((size, size), bool)
    _, px, py = line_pixels(seg)
    ours[py, px] = True
    qt = qt_pixels(seg, size)

    def near(mask):
        grown = mask.copy()
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                grown |= np.roll(np.roll(mask, dy, 0), dx, 1)
        return grown

    assert ours.sum() > 0.9 * qt.sum() and qt.sum() > 0.9 * ours.sum()
    assert np.all(near(qt)[ours])
    assert np.all(near(ours)[qt])
    assert (ours & qt).sum() > 0.7 * qt.sum()          # mostly the very same pixels
