"""Drive a blocking iterator in a worker thread and consume it asynchronously, with prompt stop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Executor
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


async def iterate_in_thread(
    executor: Executor,
    produce: Callable[[], Iterator[T]],
    *,
    on_finished: Callable[[], None] | None = None,
    ahead: int = 4,
) -> AsyncIterator[T]:
    """Yield what `produce()` yields, computed in `executor`.

    The worker runs at most `ahead` items ahead of the consumer, so a consumer that stops reading
    for a while (the engine giving the CPU to speech synthesis) really pauses the computation.
    Leaving the loop early (break, cancellation) sets a stop event the worker checks after each
    item, so the thread stops within one item. `on_finished` runs on the event loop once the
    worker has really returned, which is when shared native state may be reused.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue()
    stop = threading.Event()
    slots = threading.Semaphore(ahead)

    def work() -> None:
        try:
            if stop.is_set():
                return
            iterator = produce()
            try:
                for item in iterator:
                    loop.call_soon_threadsafe(queue.put_nowait, item)
                    while not slots.acquire(timeout=0.05):
                        if stop.is_set():
                            break
                    if stop.is_set():
                        break
            finally:
                close = getattr(iterator, "close", None)
                if close is not None:
                    close()
        except BaseException as error:  # re-raised in the consumer
            loop.call_soon_threadsafe(queue.put_nowait, error)
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, _DONE)

    future = loop.run_in_executor(executor, work)
    if on_finished is not None:
        future.add_done_callback(lambda _: on_finished())
    try:
        while True:
            item = await queue.get()
            slots.release()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
