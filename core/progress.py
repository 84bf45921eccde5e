"""Long work as generators: each ``yield`` is a progress tick and a place where cancel can stop it.

The GUI runs a job in a worker thread and stops it by closing the generator; the CLI prints a bar.
A job's ``return`` value is its result. Jobs keep their writes in one transaction, so closing the
generator (GeneratorExit inside ``db.atomic()``) rolls everything back.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Progress:
    done: int
    total: int  # an estimate; may be 0 when unknown
    stage: str = ""


Job = Generator[Progress, None, T]


def run(job: Job[T], on_progress: Callable[[Progress], None] | None = None) -> T:
    """Drive a job to the end and return its result."""
    while True:
        try:
            tick = next(job)
        except StopIteration as stop:
            return stop.value
        if on_progress is not None:
            try:
                on_progress(tick)
            except BaseException:  # Cancelled, KeyboardInterrupt: close now so the transaction rolls back
                job.close()
                raise
