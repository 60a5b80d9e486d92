"""Channel: one open multicast group + port + interface, sending and receiving (pull mode).

Every C call goes through the channel's Guard (see _guard.py), so a channel closed or
destroyed with its context answers Closed and never touches freed memory. Blocking calls wait
in short slices, so Ctrl-C (KeyboardInterrupt) interrupts them within ~0.1 s; ctypes releases
the GIL during each call, so other Python threads run meanwhile.
"""

from __future__ import annotations

import asyncio
import ctypes
import math
import time
from ctypes import c_int, c_uint32, c_uint64, c_void_p
from typing import (
    TYPE_CHECKING,
    AsyncIterator,
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Optional,
    Tuple,
)

from . import aio
from ._guard import Guard
from ._lib import (
    BLIP_EAGAIN,
    BLIP_ETIMEDOUT,
    BLIP_STATS_CHANNEL,
    BLIP_STATS_REMOTE,
    LIB,
    stat_names,
)
from .errors import Closed, TimedOut, make_error
from .events import Received, take
from .options import Config

if TYPE_CHECKING:
    from .context import Context

#: Longest single wait inside the library, in ms: the latency of Ctrl-C in a blocking call.
WAIT_SLICE_MS = 100

#: Counter names, in the library's order (blip_stat_name()).
CHANNEL_STATS: Tuple[str, ...] = stat_names(BLIP_STATS_CHANNEL)
REMOTE_STATS: Tuple[str, ...] = stat_names(BLIP_STATS_REMOTE)

_BLIP_EADDRNOTAVAIL = -9


def _deadline(timeout: Optional[float]) -> Optional[float]:
    if timeout is None:
        return None
    if timeout < 0 or math.isnan(timeout):
        raise ValueError(f"timeout must be None or >= 0 seconds, not {timeout!r}")
    return time.monotonic() + timeout


def _slice_ms(deadline: Optional[float]) -> int:
    """The next wait: a slice, or what is left before the deadline (rounded up)."""
    if deadline is None:
        return WAIT_SLICE_MS
    left = deadline - time.monotonic()
    return 0 if left <= 0 else min(WAIT_SLICE_MS, math.ceil(left * 1000))


class Channel:
    """An open channel. Create it with ``Context.open()`` (or ``Channel(context, ...)``).

    All methods are thread-safe. Use it as a context manager, or call close(); a channel
    dropped without close() is closed by the garbage collector.

    Iterating over a channel (``for item in channel``) yields every Message and Event until
    the channel is closed; ``async for`` does the same in asyncio.
    """

    def __init__(
        self, context: "Context", group: str, port: int, interface: str, **options: Any
    ) -> None:
        """Opens a channel (blip_channel_open()).

        Args:
            context: the context whose loop runs the channel; kept alive by the channel.
            group: multicast group, e.g. "239.1.2.3" or "ff12::1".
            port: UDP port.
            interface: interface by name ("eth0"), index ("2") or address ("127.0.0.1").
            **options: any option of blip.h's table by name, e.g. ttl=4, loopback=False,
                inject_loss=0.1; the Python type picks the setter (see Config.set).

        Raises:
            BlipError: e.g. InvalidArgument for a bad option or a group that is not
                multicast, NoSuchDevice for an unknown interface, with the library's
                message as `detail`.
            Closed: the context is closed.
        """
        self._guard: Optional[Guard] = None
        self._reader: Optional[aio.FdReader] = None
        self._context = context
        self.group = group
        self.port = port
        self.interface = interface
        with Config() as config:
            config.update({"group": group, "port": port, "interface": interface})
            config.update(options)
            self._guard = context._open_channel(config)
        node, session = c_uint64(), c_uint64()
        code = self._guard.call(
            LIB.blip_channel_identity, ctypes.byref(node), ctypes.byref(session)
        )
        if code != 0:
            raise make_error(code, operation="identity")
        #: This channel's node id, as receivers see it in Message.node_id.
        self.node_id: int = node.value
        #: This channel's session id (random per open).
        self.session_id: int = session.value

    # ---- Lifetime -----------------------------------------------------------------------------

    @property
    def context(self) -> "Context":
        """The context the channel belongs to."""
        return self._context

    @property
    def closed(self) -> bool:
        """True once the channel (or its context) is closed."""
        return self._guard is None or self._guard.closed

    def close(self, flush_timeout: float = 0.0) -> None:
        """Closes the channel: leaves the group, closes the socket (blip_channel_close()).

        Like blip_channel_close(), messages still queued to send are discarded unless
        `flush_timeout` > 0 (or None, no limit) first waits for them to be transmitted once
        (flush()). Receivers that still need repairs may lose the tail: to give them time,
        keep the channel open a little longer after flush(). Threads waiting in recv() or
        send() get Closed. A second close does nothing.
        """
        guard = self._guard
        if guard is None or guard.closed:
            self._close_reader()
            return
        if flush_timeout is None or flush_timeout > 0:
            try:
                self.flush(flush_timeout)
            except (Closed, TimedOut):
                pass
        guard.retire(LIB.blip_channel_close)
        self._close_reader()

    def __enter__(self) -> "Channel":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - nothing may escape a finalizer
            pass

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        node = getattr(self, "node_id", 0)
        return (
            f"<blip.Channel {self.group}:{self.port} on {self.interface} "
            f"node={node:#x} {state}>"
        )

    def _call(self, function: Callable[..., int], *args: Any) -> int:
        guard = self._guard
        if guard is None:
            raise Closed(-5, "the channel is closed")
        return guard.call(function, *args)

    def _wait(self, function: Callable[..., int], deadline: Optional[float], what: str) -> None:
        """Calls a blip_channel_wait_* function in slices until OK, the deadline or an error."""
        while True:
            code = self._call(function, _slice_ms(deadline))
            if code == 0:
                return
            if code != BLIP_ETIMEDOUT:
                raise make_error(code, operation=what)
            if deadline is not None and time.monotonic() >= deadline:
                raise make_error(code, operation=what)

    # ---- Sending ------------------------------------------------------------------------------

    def send(
        self,
        data: Any,
        stream: Optional[int] = None,
        *,
        block: bool = True,
        timeout: Optional[float] = None,
    ) -> int:
        """Sends a copy of a message; returns its sequence number in its stream.

        Args:
            data: the message, any bytes-like object (bytes, bytearray, memoryview).
            stream: the stream id (0..2**32-1); None uses the channel's `stream` option.
            block: when the send queue is full, wait for room and retry (the default);
                with block=False raise WouldBlock instead.
            timeout: with block, the longest wait in seconds (None: no limit); then
                TimedOut.

        Raises:
            WouldBlock: the send queue is full and block is False.
            MessageTooLarge: above the channel's max_message_size.
            TimedOut: the queue stayed full for `timeout` seconds.
            Closed: the channel is closed.
            TypeError: `data` is not bytes-like (e.g. a str: encode it first).
        """
        payload = data if type(data) is bytes else bytes(memoryview(data))
        if stream is not None and not 0 <= stream <= 0xFFFFFFFF:
            raise make_error(-1, f"stream {stream} is out of range 0..2**32-1", "send")
        seq = c_uint64()
        deadline = _deadline(timeout) if block else None
        while True:
            if stream is None:
                code = self._call(LIB.blip_channel_send, payload, len(payload), ctypes.byref(seq))
            else:
                code = self._call(
                    LIB.blip_channel_send_stream, stream, payload, len(payload), ctypes.byref(seq)
                )
            if code == 0:
                return seq.value
            if code != BLIP_EAGAIN or not block:
                raise make_error(code, operation="send")
            self._wait(LIB.blip_channel_wait_writable, deadline, "send")

    def flush(self, timeout: Optional[float] = None) -> None:
        """Waits until every message sent so far was transmitted once (blip_channel_wait_sent()).

        Raises:
            TimedOut: not done within `timeout` seconds.
            Closed: the channel is closed.
        """
        self._wait(LIB.blip_channel_wait_sent, _deadline(timeout), "flush")

    # ---- Receiving ----------------------------------------------------------------------------

    def recv(self, timeout: Optional[float] = None) -> Received:
        """Takes the next message or event (blip_channel_receive()).

        Args:
            timeout: longest wait in seconds; None waits until something arrives or the
                channel closes; 0 does not wait.

        Returns:
            A Message or an Event (Loss, SenderNew, ...).

        Raises:
            TimedOut: nothing arrived within `timeout` (> 0).
            WouldBlock: nothing queued (timeout 0).
            Closed: the channel was closed, before or during the wait.
        """
        deadline = _deadline(timeout)
        event = c_void_p()
        while True:
            code = self._call(LIB.blip_channel_receive, _slice_ms(deadline), ctypes.byref(event))
            if code == 0:
                return take(event.value)  # type: ignore[arg-type]
            if code not in (BLIP_EAGAIN, BLIP_ETIMEDOUT):
                raise make_error(code, operation="receive")
            if timeout == 0:
                raise make_error(BLIP_EAGAIN, operation="receive")
            if deadline is not None and time.monotonic() >= deadline:
                raise make_error(BLIP_ETIMEDOUT, operation="receive")

    def try_recv(self) -> Optional[Received]:
        """The next queued message or event, or None when nothing is queued (never waits).

        Raises:
            Closed: the channel is closed.
        """
        event = c_void_p()
        code = self._call(LIB.blip_channel_receive, 0, ctypes.byref(event))
        if code == 0:
            return take(event.value)  # type: ignore[arg-type]
        if code == BLIP_EAGAIN:
            return None
        raise make_error(code, operation="receive")

    def events(self, idle_timeout: Optional[float] = None) -> Iterator[Received]:
        """Yields messages and events until the channel closes, or until nothing arrived for
        `idle_timeout` seconds (None: no limit)."""
        while True:
            try:
                item = self.recv(idle_timeout)
            except (Closed, TimedOut):
                return
            yield item

    def __iter__(self) -> Iterator[Received]:
        return self.events()

    def fileno(self) -> int:
        """blip_channel_fd(): readable exactly while something is queued (level-triggered),
        and for good once the channel is closed. For select/poll/selectors; do not read,
        write or close it. It stays open until the context is closed."""
        fd = c_int()
        code = self._call(LIB.blip_channel_fd, ctypes.byref(fd))
        if code != 0:
            raise make_error(code, operation="fd")
        return fd.value

    # ---- asyncio ------------------------------------------------------------------------------

    async def recv_async(self) -> Received:
        """Awaits the next message or event, driven by the channel's descriptor in the
        running event loop (no thread). Cancellation loses nothing.

        Raises:
            Closed: the channel is closed, before or during the wait.
        """
        loop = asyncio.get_running_loop()
        while True:
            item = self.try_recv()
            if item is not None:
                return item
            reader = self._reader_for(loop)
            future = reader.wait()
            try:
                await future
            finally:
                reader.discard(future)

    #: Same as recv_async().
    arecv = recv_async

    async def __aiter__(self) -> AsyncIterator[Received]:
        """``async for item in channel``: every message and event until the channel closes."""
        while True:
            try:
                item = await self.recv_async()
            except Closed:
                return
            yield item

    def _reader_for(self, loop: asyncio.AbstractEventLoop) -> aio.FdReader:
        with aio.READER_LOCK:
            reader = self._reader
            if reader is not None and reader.loop is loop:
                return reader
            if reader is not None:
                if reader.waiting and not reader.loop.is_closed():
                    raise RuntimeError("the channel is being awaited in another event loop")
                reader.close_from_any_thread()
            reader = aio.FdReader(loop, self.fileno())
            self._reader = reader
            return reader

    def _close_reader(self) -> None:
        with aio.READER_LOCK:
            reader, self._reader = self._reader, None
        if reader is not None:
            reader.close_from_any_thread()

    # ---- Statistics ---------------------------------------------------------------------------

    def stats(self) -> Dict[str, int]:
        """Every channel counter by name (blip_stat_name(), blip_channel_stat()).

        Each counter is read on its own: they are not one consistent snapshot.
        """
        value = c_uint64()
        result = {}
        for name in CHANNEL_STATS:
            code = self._call(LIB.blip_channel_stat, name.encode(), ctypes.byref(value))
            if code != 0:
                raise make_error(code, f"counter {name!r}", "stats")
            result[name] = value.value
        return result

    def remotes(self) -> List[Tuple[int, int]]:
        """The remote sender streams tracked now, as (node_id, stream_id) pairs."""
        count = ctypes.c_size_t()
        capacity = 16
        while True:
            nodes = (c_uint64 * capacity)()
            streams = (c_uint32 * capacity)()
            code = self._call(
                LIB.blip_channel_remotes, nodes, streams, capacity, ctypes.byref(count)
            )
            if code != 0:
                raise make_error(code, operation="remotes")
            if count.value <= capacity:
                return [(nodes[i], streams[i]) for i in range(count.value)]
            capacity = count.value + 16  # more appeared meanwhile: try again, larger

    def remote_stats(self) -> Dict[Tuple[int, int], Dict[str, int]]:
        """Every counter of every remote sender stream: {(node_id, stream_id): {name: value}}.

        A sender forgotten between listing and reading is left out.
        """
        value = c_uint64()
        result: Dict[Tuple[int, int], Dict[str, int]] = {}
        for node, stream in self.remotes():
            counters: Dict[str, int] = {}
            for name in REMOTE_STATS:
                code = self._call(
                    LIB.blip_channel_remote_stat, node, stream, name.encode(), ctypes.byref(value)
                )
                if code == _BLIP_EADDRNOTAVAIL:
                    counters = {}
                    break
                if code != 0:
                    raise make_error(code, f"counter {name!r}", "remote stats")
                counters[name] = value.value
            if counters:
                result[(node, stream)] = counters
        return result
