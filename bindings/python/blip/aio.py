"""asyncio support: wakes coroutines waiting on a channel when its descriptor is readable.

The channel's blip_channel_fd() is level-triggered: readable exactly while events are queued,
and readable for good once the channel is closed. The event loop watches it (add_reader); on
readiness the waiting coroutines call blip_channel_receive() with timeout 0 themselves. No
thread is involved and the library never calls into Python.

The reader watches its own duplicate of the descriptor: the library closes the original in
blip_context_destroy(), possibly from another thread while the loop still watches it, and a
closed (then reused) number must never stay registered in the loop. The duplicate is closed
only after it is unregistered, on the loop's thread. Standard library only.
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import List


class FdReader:
    """Wakes the futures of waiting coroutines when a descriptor is readable (one loop)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, fd: int) -> None:
        self.loop = loop
        self.fd = os.dup(fd)
        self._waiters: List[asyncio.Future] = []
        self._armed = False
        self._closed = False

    @property
    def waiting(self) -> bool:
        """Some coroutine waits on this reader."""
        return bool(self._waiters)

    def wait(self) -> asyncio.Future:
        """A future resolved when the descriptor is (or becomes) readable. Loop thread only."""
        future = self.loop.create_future()
        if self._closed:
            future.set_result(None)
            return future
        self._waiters.append(future)
        if not self._armed:
            self.loop.add_reader(self.fd, self._on_readable)
            self._armed = True
        return future

    def discard(self, future: asyncio.Future) -> None:
        """Forgets a waiter (done or cancelled); stops watching when none is left."""
        try:
            self._waiters.remove(future)
        except ValueError:
            pass
        if not self._waiters:
            self._disarm()

    def _disarm(self) -> None:
        if self._armed:
            self._armed = False
            self.loop.remove_reader(self.fd)

    def _wake_all(self) -> None:
        waiters, self._waiters = self._waiters, []
        for future in waiters:
            if not future.done():
                future.set_result(None)

    def _on_readable(self) -> None:
        # Unregister until the next wait(): a level-triggered descriptor would otherwise fire
        # on every loop iteration until the woken coroutines have run.
        self._disarm()
        self._wake_all()

    def close(self) -> None:
        """Stops watching, wakes every waiter (they then see the channel closed) and closes
        the duplicate descriptor. Loop thread only (or when the loop is not running)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._disarm()
        finally:
            self._wake_all()
            os.close(self.fd)

    def close_from_any_thread(self) -> None:
        """close(), on the loop's thread if the loop runs elsewhere."""
        loop = self.loop
        if loop.is_closed() or not loop.is_running() or _on_loop_thread(loop):
            self.close()
            return
        try:
            loop.call_soon_threadsafe(self.close)
        except RuntimeError:  # the loop closed meanwhile
            self.close()


def _on_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


#: Guards creating and replacing a channel's reader (channels may be shared by threads).
READER_LOCK = threading.Lock()
