"""The event loop every Reviewdesk process runs on: uvloop where it is installed.

The worker and the web app spend much of their CPU in the event loop itself (one turn per
Temporal poll, activation, activity and HTTP request). uvloop, with httptools for uvicorn's
HTTP parsing, does those turns in C. Without uvloop (it has no Windows build) the standard
loop runs the same code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run_main(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` on the fastest loop at hand."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
