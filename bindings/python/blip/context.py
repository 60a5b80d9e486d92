"""Context: one libblip event loop (on its own thread) and the channels opened on it.

The context owns the Guard of each of its channels: closing it closes every channel, waits
until no thread is inside a call on any of them, and only then calls blip_context_destroy(),
which frees their handles. Channels keep their context alive; contexts still open at
interpreter exit are closed by an atexit hook, before the interpreter tears down.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import threading
import weakref
from typing import Any, List, Optional

from ._guard import Guard
from ._lib import LIB
from .channel import Channel
from .errors import Closed, make_error
from .options import Config

_LIVE: "weakref.WeakSet[Context]" = weakref.WeakSet()


class Context:
    """A Blip context: creates the library's loop thread (blip_context_create()).

    Use it as a context manager, or call close(). Open channels with open().
    """

    def __init__(self) -> None:
        self._guard: Optional[Guard] = None
        self._channels: List[Guard] = []
        self._lock = threading.Lock()  # guards _channels
        self._destroy_lock = threading.Lock()  # makes the destroy once-only
        handle = ctypes.c_void_p()
        code = LIB.blip_context_create(ctypes.byref(handle))
        if code != 0:
            raise make_error(code, operation="context")
        self._guard = Guard(handle.value, "context")  # type: ignore[arg-type]
        _LIVE.add(self)

    def open(self, group: str, port: int, interface: str, **options: Any) -> Channel:
        """Opens a channel on this context; see Channel for the arguments.

        Example:
            >>> ch = ctx.open(group="239.255.0.1", port=5000, interface="127.0.0.1", ttl=1)
        """
        return Channel(self, group, port, interface, **options)

    def _open_channel(self, config: Config) -> Guard:
        """blip_channel_open() with a filled config; registers the new channel's guard."""
        guard = self._guard
        if guard is None:
            raise Closed(-5, "the context is closed", "open")
        out = ctypes.c_void_p()
        opened: List[Guard] = []

        def open_and_register(context: int) -> int:
            # Registered inside the call: close() drains the context's calls before it lists
            # the channels, so it cannot miss (and free under) a channel opened meanwhile.
            code = LIB.blip_channel_open(context, config.handle, ctypes.byref(out))
            if code == 0:
                channel = Guard(out.value, "channel")  # type: ignore[arg-type]
                with self._lock:
                    # Closed channels stay valid in C until the context is destroyed; their
                    # guards are only dropped here once no call is left inside them.
                    self._channels = [g for g in self._channels if not (g.closed and g.idle)]
                    self._channels.append(channel)
                opened.append(channel)
            return code

        code = guard.call(open_and_register)
        if code != 0:
            raise make_error(code, config.error(), "open")
        return opened[0]

    @property
    def closed(self) -> bool:
        """True once close() ran."""
        return self._guard is None or self._guard.closed

    def close(self) -> None:
        """Closes every channel of the context, stops its loop thread and frees it all
        (blip_context_destroy()). Threads waiting on its channels get Closed. Events already
        received stay valid (they are Python copies). Returns once the context is destroyed,
        also when another thread is closing it; a close after that does nothing.

        Interrupted (KeyboardInterrupt) before the end, it leaves the context closed but not
        yet destroyed: the next close(), the garbage collector or the exit hook finishes.
        """
        guard = self._guard
        if guard is None:
            with self._destroy_lock:  # returns after a destroy in progress elsewhere
                return
        guard.retire()
        guard.drain()  # an open() in progress finishes (and registers its channel) first
        with self._lock:
            channels = list(self._channels)
        for channel in channels:
            channel.retire(LIB.blip_channel_close)
        for channel in channels:
            channel.drain()
        with self._destroy_lock:
            if self._guard is None:
                return  # another thread destroyed it meanwhile
            # Forgotten before the call: an interrupt right after it must not lead to a
            # second destroy.
            self._guard = None
            code = LIB.blip_context_destroy(guard.ptr)
        with self._lock:
            self._channels = []
        _LIVE.discard(self)
        if code != 0:
            raise make_error(code, operation="context destroy")

    def __enter__(self) -> "Context":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - nothing may escape a finalizer
            pass

    def __repr__(self) -> str:
        return f"<blip.Context {'closed' if self.closed else 'open'}>"

    def _abandon_after_fork(self) -> None:
        """In a forked child: the loop thread does not exist here, so destroying the context
        would wait for it forever. Marks the context and its channels closed without any C
        call (their memory is the parent's copy; it is left alone). The child runs only this
        thread now, so the guards' locks, possibly copied while held, are replaced."""
        for guard in [self._guard] + self._channels:
            if guard is not None:
                guard.abandon()
        self._guard = None
        self._channels = []
        self._lock = threading.Lock()
        self._destroy_lock = threading.Lock()


def _after_fork_in_child() -> None:
    for context in list(_LIVE):
        context._abandon_after_fork()
    _LIVE.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _close_all() -> None:
    """Closes the contexts still open at exit, while the interpreter is intact."""
    for context in list(_LIVE):
        try:
            context.close()
        except Exception:  # noqa: BLE001 - exit must go on
            pass
