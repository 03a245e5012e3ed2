"""The progress meter's time left (issue 12 item 5): a smoothed rate over bytes and
files, not the average since the start; bytes inside unfinished files count."""

from __future__ import annotations

from app.core.events import Phase, Progress
from app.engine.progress import ProgressMeter

MB = 1_000_000


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_time_left_follows_the_current_speed_not_the_average_since_start() -> None:
    clock = Clock()
    events: list[Progress] = []
    meter = ProgressMeter(events.append, Phase.OPENING, clock=clock)
    meter.emit(force=True)
    clock.t += 120.0  # two minutes opening a slow cloud vault: no data moves
    meter.files_total, meter.bytes_total = 1, 600 * MB
    meter.emit(force=True, phase=Phase.BACKING_UP)
    cell = meter.reading_cell()  # one big file, read by one reader thread
    # 60 s at 10 MB/s, then 2 s at 5 MB/s
    for _ in range(240):
        clock.t += 0.25
        cell[0] += 2_500_000
        meter.emit()
    assert events[-1].files_done == 0 and events[-1].bytes_done == 600 * MB
    assert events[-1].eta_s is not None and events[-1].eta_s < 5.0
    cell[0] = 0
    meter.bytes_total = 1000 * MB
    meter.bytes_done = 600 * MB
    meter.files_done = 0
    clock.t += 0.25
    meter.emit()
    left_at_10 = events[-1].eta_s
    assert left_at_10 is not None and 30 < left_at_10 < 50  # 400 MB at ~10 MB/s
    # The link slows to 2 MB/s: within half a minute the estimate says so.
    for _ in range(120):
        clock.t += 0.25
        cell[0] += 500_000
        meter.emit()
    left = events[-1].eta_s
    assert left is not None and 90 < left < 200, left  # 340 MB at 2 MB/s = 170 s
    assert 1.5 * MB < events[-1].rate_bps < 4 * MB


def test_bytes_inside_a_file_count_and_never_go_backwards() -> None:
    clock = Clock()
    events: list[Progress] = []
    meter = ProgressMeter(events.append, Phase.BACKING_UP, clock=clock)
    meter.files_total, meter.bytes_total = 1, 100 * MB
    cell = meter.reading_cell()
    cell[0] += 40 * MB
    clock.t += 1
    meter.emit()
    assert events[-1].bytes_done == 40 * MB and events[-1].files_done == 0
    cell[0] += 60 * MB
    cell[0] -= 100 * MB  # the reader finished the file; the walker has not counted it yet
    clock.t += 1
    meter.emit()
    assert events[-1].bytes_done == 40 * MB  # not back to 0
    meter.files_done, meter.bytes_done = 1, 100 * MB
    meter.emit(final=True)
    assert events[-1].final and events[-1].bytes_done == 100 * MB


def test_a_phase_change_always_goes_out() -> None:
    clock = Clock()
    events: list[Progress] = []
    meter = ProgressMeter(events.append, Phase.OPENING, clock=clock)
    meter.emit(force=True)
    meter.emit(phase=Phase.BACKING_UP)  # within the throttle interval
    assert [e.phase for e in events] == [Phase.OPENING, Phase.BACKING_UP]


def test_time_left_from_the_file_count_alone() -> None:
    """A first backup knows how many files there are but not their size: time left
    assumes the files left are as big, on average, as those done."""
    clock = Clock()
    events: list[Progress] = []
    meter = ProgressMeter(events.append, Phase.BACKING_UP, clock=clock)
    meter.files_total = 1000
    meter.emit(force=True)
    for _ in range(40):  # 8 files of 1 MB a second for 10 s
        clock.t += 0.25
        meter.files_done += 2
        meter.bytes_done += 2 * MB
        meter.emit()
    last = events[-1]
    assert last.bytes_total == 0 and last.fraction == 80 / 1000
    assert last.eta_s is not None and 100 < last.eta_s < 130, last.eta_s  # 920 files, 8 a second
