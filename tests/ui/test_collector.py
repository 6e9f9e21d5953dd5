"""Garbage collection in the console: on the GUI thread, in small steps, the start-up heap frozen."""

from __future__ import annotations

import gc
import threading
import weakref

from pytestqt.qtbot import QtBot

from ui.collector import GuiThreadCollector


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_cycles_dropped_by_a_worker_thread_are_freed_later_on_the_gui_thread(qtbot: QtBot) -> None:
    collector = GuiThreadCollector(interval_ms=20)
    try:
        assert not gc.isenabled()
        refs: list[weakref.ref[Node]] = []

        def worker() -> None:
            for _ in range(5000):  # past generation 0's threshold
                refs.append(weakref.ref(Node()))

        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        assert all(ref() is not None for ref in refs)  # nothing collected on the worker thread
        qtbot.waitUntil(lambda: all(ref() is None for ref in refs), timeout=60_000)
    finally:
        collector.stop()


def test_the_start_up_heap_is_frozen_once_settled_and_thawed_at_stop() -> None:
    enabled_before = gc.isenabled()
    collector = GuiThreadCollector()
    collector.settle()
    assert gc.get_freeze_count() > 10_000  # Qt's bindings, the app's modules: out of every later walk
    collector.stop()
    assert gc.get_freeze_count() == 0
    assert gc.isenabled() == enabled_before


def test_stopping_collects_what_is_left_before_collection_is_automatic_again() -> None:
    collector = GuiThreadCollector(interval_ms=3_600_000)
    ref = weakref.ref(Node())
    assert ref() is not None
    collector.stop()
    assert ref() is None  # freed here, on the GUI thread, not later by whichever thread allocates
