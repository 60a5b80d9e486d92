"""Guard: a C handle that several threads may be using and that its owner may retire.

Why: blip_context_destroy() frees the handles of its channels and must not run while any
thread is inside a call on one of them. Each channel's handle sits in a Guard shared by the
Channel object and its Context; a call enters the guard (refused with Closed once retired),
and the context drains every guard (waits until no call is inside) before destroying.
The context holds the guards, not the Channel objects, so garbage collection can finalize a
channel and its context in any order without touching freed memory. No dependencies but
errors.

The bookkeeping must survive KeyboardInterrupt, which Python raises between bytecodes, in
any Python-level function (threading.Condition.__enter__ included): a count left one too high
would make the context wait forever. So each call registers a token with one atomic set
operation inside its try block and removes it with one in its finally block; no Python-level
function runs between those and the C call.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Optional, Set

from .errors import Closed


class Guard:
    """A handle (`ptr`), the calls in progress on it, and a closed flag."""

    __slots__ = ("ptr", "what", "closed", "_inflight", "_lock")

    def __init__(self, ptr: int, what: str) -> None:
        self.ptr = ptr
        self.what = what  # "channel" or "context", for error messages
        self.closed = False
        self._inflight: Set[object] = set()
        self._lock = threading.Lock()  # makes retire() once-only

    def call(self, function: Callable[..., int], *args: Any) -> int:
        """Calls function(ptr, *args) unless retired; the handle cannot be freed meanwhile.

        Raises:
            Closed: the guard was retired (the channel or context is closed).
        """
        token = object()
        try:
            # Registered before the check: retire() sets `closed` before it drains, so either
            # this call sees `closed`, or the drain sees this call.
            self._inflight.add(token)
            if self.closed:
                raise Closed(-5, f"the {self.what} is closed")
            return function(self.ptr, *args)
        finally:
            self._inflight.discard(token)

    def retire(self, closer: Optional[Callable[[int], int]] = None) -> bool:
        """Refuses new calls; the first retire also runs closer(ptr), as a call.

        Returns:
            True for the first retire, False if it was already retired.
        """
        token = object()
        try:
            self._inflight.add(token)
            with self._lock:
                if self.closed:
                    return False
                self.closed = True
            if closer is not None:
                closer(self.ptr)
            return True
        finally:
            self._inflight.discard(token)

    def abandon(self) -> None:
        """Marks the guard retired without running anything (after fork, in the child, where
        the threads that were inside calls do not exist)."""
        self._inflight = set()
        self._lock = threading.Lock()
        self.closed = True

    @property
    def idle(self) -> bool:
        """No call in progress."""
        return not self._inflight

    def drain(self) -> None:
        """Waits until no call is in progress. Once retired, calls in C return promptly: waits
        happen in slices of at most 0.1 s, and closing wakes them."""
        delay = 0.0005
        while self._inflight:
            time.sleep(delay)
            delay = min(delay * 2, 0.01)
