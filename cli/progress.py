"""A progress bar on stderr for long jobs (only when stderr is a terminal)."""

from __future__ import annotations

import sys
import time
from typing import TypeVar

from core.progress import Job, Progress, run

T = TypeVar("T")


class Bar:
    def __init__(self, label: str, stream=sys.stderr) -> None:  # type: ignore[no-untyped-def]
        self.label = label
        self.stream = stream
        self.started = time.monotonic()
        self.last = 0.0
        self.enabled = stream.isatty()

    def __call__(self, tick: Progress) -> None:
        if not self.enabled:
            return
        moment = time.monotonic()
        if moment - self.last < 0.1 and tick.done < tick.total:
            return
        self.last = moment
        total = max(tick.total, tick.done, 1)
        share = tick.done / total
        filled = int(share * 30)
        rate = tick.done / max(moment - self.started, 1e-6)
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {share:4.0%} "
            f"{tick.done}/{total} 行 {rate:,.0f} 行/秒 {tick.stage}  "
        )
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def run_with_bar(job: Job[T], label: str, *, quiet: bool = False) -> T:
    if quiet:
        return run(job)
    bar = Bar(label)
    try:
        return run(job, bar)
    finally:
        bar.finish()
