"""What a person sees first and reads on the panels: nothing hidden, covered or contradictory."""

from __future__ import annotations

import pytest

from tests.test_lessons import choose_lesson, wait_ready
from tests.test_window_input import click_menu


def lesson_text_visible(w) -> bool:
    lessons = w.docks["lessons"]
    return (not lessons.visibleRegion().isEmpty()
            and not w.lessons.title_label.visibleRegion().isEmpty()
            and not w.lessons.task_label.visibleRegion().isEmpty())


@pytest.mark.parametrize("size", [(1600, 1000), (1280, 720)])
def test_opening_a_lesson_brings_the_lessons_panel_to_the_front(qtbot, open_window, size):
    w = open_window(size=size)
    click_menu(qtbot, w, "Help", "Lessons")
    wait_ready(qtbot, w, 1)
    qtbot.waitUntil(lambda: lesson_text_visible(w), timeout=3000)
    assert not w.tabifiedDockWidgets(w.docks["lessons"])      # no tab hides it later
    # a lesson that scrolls the Controls to one of its controls keeps its text in front too
    choose_lesson(qtbot, w, 4)
    wait_ready(qtbot, w, 4)
    qtbot.waitUntil(lambda: lesson_text_visible(w)
                    and not w.docks["controls"].visibleRegion().isEmpty(), timeout=3000)
