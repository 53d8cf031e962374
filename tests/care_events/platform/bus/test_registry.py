"""The map in docs/events.md ("Who handles what") is the registries' own: every handler and timer kind is there,
on its event's row, with the queue it runs on."""

import re
from pathlib import Path

from care_events.platform.bus.catalogue import CATALOGUE, URGENT
from care_events.platform.bus.dispatch import handlers_for
from care_events.platform.bus.models import TimerKind
from care_events.platform.bus.timers import _timer_handlers

DOC = (Path(__file__).resolve().parents[4] / "docs" / "events.md").read_text()
SECTION = DOC[DOC.index("## Who handles what") : DOC.index("## The five workflows")]


def _rows() -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip("|").split("|")] for line in SECTION.splitlines() if line.startswith("|")
    ]


def test_every_handler_is_on_its_events_row_with_its_queue():
    rows, documented, event = _rows(), set(), ""
    for cells in rows:
        event = cells[0] or event  # a continuation row keeps the event above it
        match = re.fullmatch(r"`([a-z-]+)`(?: \((urgent|inline)\))?", cells[2])
        if match:
            documented.add((event, match.group(1), match.group(2) or ""))
    registered = {
        (f"`{name}`", handler.name, "inline" if handler.inline else "urgent" if handler.queue == URGENT else "")
        for name in CATALOGUE
        for handler in handlers_for(name)
    }
    assert registered == documented


def test_every_event_and_timer_kind_is_on_the_map():
    first_cells = " ".join(cells[0] for cells in _rows())
    assert all(f"`{name}`" in first_cells for name in CATALOGUE)
    assert all(f"`{kind}`" in first_cells for kind in TimerKind.values)
    for kind, handler in _timer_handlers.items():
        row = next(cells for cells in _rows() if cells[0].startswith(f"`{kind}`"))
        assert ("countdown" if handler.countdown else "eta") in row[2]
        assert ("urgent" if handler.queue == URGENT else "default") in row[2]
