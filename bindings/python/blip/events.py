"""What a channel delivers: Message, and the Event subclasses (Loss, SenderNew, ...).

Each is a plain immutable Python object copied out of the library's blip_event_t, which is
freed at once (take()); nothing here points into library memory. The type and reason tables
are explicit so that the drift test can hold them against blip.h. Depends on _lib and errors.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import ClassVar, Dict, Type, Union

from ._lib import LIB, EventInfo, text
from .errors import BlipError, make_error


@dataclass(frozen=True)
class Message:
    """A message, delivered exactly once and in order per sender stream.

    Attributes:
        data: the payload (a copy).
        node_id: the sender's node id (also as `sender`).
        session_id: the sender's session (random per sender start).
        stream_id: the sender's stream.
        seq: the message's sequence number in that stream (0, 1, 2, ...).
    """

    data: bytes
    node_id: int
    session_id: int
    stream_id: int
    seq: int

    @property
    def sender(self) -> int:
        """The sender's node id (same as `node_id`)."""
        return self.node_id

    def __repr__(self) -> str:
        shown = self.data if len(self.data) <= 32 else self.data[:32] + b"..."
        return (
            f"Message(sender={self.node_id:#x}, stream={self.stream_id}, seq={self.seq}, "
            f"{len(self.data)} bytes: {shown!r})"
        )


@dataclass(frozen=True)
class Event:
    """Anything a channel reports besides a message. Subclasses add their own fields.

    Attributes:
        node_id: the sender's node id (0 for Warning and SocketError).
        session_id: the sender's session (0 for Warning and SocketError).
        stream_id: the sender's stream.
    """

    #: The BLIP_EVENT_* number and the library's name of the event type.
    TYPE: ClassVar[int] = 0
    NAME: ClassVar[str] = "unknown"

    node_id: int
    session_id: int
    stream_id: int

    @property
    def sender(self) -> int:
        """The sender's node id (same as `node_id`)."""
        return self.node_id


@dataclass(frozen=True)
class Loss(Event):
    """Messages [seq, seq + count) of a sender stream will never arrive.

    Attributes:
        seq: the first lost message.
        count: how many (0 when `open_ended`: the loss runs to the unknown end of a stream).
        reason: why, by name: "left_window", "sender_gone", "gave_up", "rejected".
        reason_code: the BLIP_LOSS_* number.
        open_ended: the loss has no known end.
    """

    TYPE: ClassVar[int] = 2
    NAME: ClassVar[str] = "loss"

    seq: int
    count: int
    reason: str
    reason_code: int
    open_ended: bool

    @property
    def range(self) -> range:
        """The lost sequence numbers (empty when open-ended)."""
        return range(self.seq, self.seq + self.count)


@dataclass(frozen=True)
class SenderNew(Event):
    """First packet heard from a sender stream."""

    TYPE: ClassVar[int] = 3
    NAME: ClassVar[str] = "sender_new"


@dataclass(frozen=True)
class SenderRestarted(Event):
    """A known node came back with a new session; `old_session_id` is the one that ended."""

    TYPE: ClassVar[int] = 4
    NAME: ClassVar[str] = "sender_restarted"

    old_session_id: int


@dataclass(frozen=True)
class SenderInactive(Event):
    """Nothing heard from the sender for sender_timeout_ms."""

    TYPE: ClassVar[int] = 5
    NAME: ClassVar[str] = "sender_inactive"


@dataclass(frozen=True)
class SenderActive(Event):
    """An inactive sender was heard again."""

    TYPE: ClassVar[int] = 6
    NAME: ClassVar[str] = "sender_active"


@dataclass(frozen=True)
class SenderRemoved(Event):
    """A silent sender's state was freed (sender_forget_ms)."""

    TYPE: ClassVar[int] = 7
    NAME: ClassVar[str] = "sender_removed"


@dataclass(frozen=True)
class Overrun(Event):
    """This reader fell behind: messages [seq, seq + count), although received, were dropped
    because the receive queue was full (raise receive_queue_messages/_bytes or read faster)."""

    TYPE: ClassVar[int] = 8
    NAME: ClassVar[str] = "overrun"

    seq: int
    count: int

    @property
    def range(self) -> range:
        """The dropped sequence numbers."""
        return range(self.seq, self.seq + self.count)


@dataclass(frozen=True)
class SocketError(Event):
    """The socket reported an error (at most one such event per second per channel).

    Attributes:
        error: the BLIP_E* code.
        text: what failed.
        suppressed: similar errors not reported since the last one.
    """

    TYPE: ClassVar[int] = 9
    NAME: ClassVar[str] = "socket_error"

    error: int
    text: str
    suppressed: int

    def exception(self) -> BlipError:
        """The error as an exception object (not raised)."""
        return make_error(self.error, self.text, operation="socket")


@dataclass(frozen=True)
class Warning(Event):  # noqa: A001 - the library's name; builtins.Warning stays reachable
    """A non-fatal problem found at open, e.g. a socket buffer the kernel clamped."""

    TYPE: ClassVar[int] = 10
    NAME: ClassVar[str] = "warning"

    text: str


@dataclass(frozen=True)
class UnknownEvent(Event):
    """An event type newer than this binding (ignore it, or upgrade the binding)."""

    type: int


#: BLIP_EVENT_* name -> (number, class); BLIP_EVENT_MESSAGE is Message.
EVENT_TYPES: Dict[str, tuple] = {
    "BLIP_EVENT_MESSAGE": (1, Message),
    "BLIP_EVENT_LOSS": (2, Loss),
    "BLIP_EVENT_SENDER_NEW": (3, SenderNew),
    "BLIP_EVENT_SENDER_RESTARTED": (4, SenderRestarted),
    "BLIP_EVENT_SENDER_INACTIVE": (5, SenderInactive),
    "BLIP_EVENT_SENDER_ACTIVE": (6, SenderActive),
    "BLIP_EVENT_SENDER_REMOVED": (7, SenderRemoved),
    "BLIP_EVENT_OVERRUN": (8, Overrun),
    "BLIP_EVENT_SOCKET_ERROR": (9, SocketError),
    "BLIP_EVENT_WARNING": (10, Warning),
}

#: BLIP_LOSS_* name -> number.
LOSS_REASONS: Dict[str, int] = {
    "BLIP_LOSS_LEFT_WINDOW": 1,
    "BLIP_LOSS_SENDER_GONE": 2,
    "BLIP_LOSS_GAVE_UP": 3,
    "BLIP_LOSS_REJECTED": 4,
}

_PLAIN: Dict[int, Type[Event]] = {
    cls.TYPE: cls for _, cls in EVENT_TYPES.values() if cls in (
        SenderNew, SenderInactive, SenderActive, SenderRemoved)
}

Received = Union[Message, Event]


def _convert(info: EventInfo) -> Received:
    kind = info.type
    node, session, stream = info.node_id, info.session_id, info.stream_id
    if kind == 1:
        data = ctypes.string_at(info.data, info.length) if info.length else b""
        return Message(data, node, session, stream, info.sequence)
    if kind == Loss.TYPE:
        return Loss(
            node, session, stream, info.sequence, info.count,
            text(LIB.blip_loss_reason_name(info.reason)), info.reason, bool(info.open_ended),
        )
    plain = _PLAIN.get(kind)
    if plain is not None:
        return plain(node, session, stream)
    if kind == SenderRestarted.TYPE:
        return SenderRestarted(node, session, stream, info.old_session_id)
    if kind == Overrun.TYPE:
        return Overrun(node, session, stream, info.sequence, info.count)
    if kind == SocketError.TYPE:
        return SocketError(node, session, stream, info.error, text(info.text), info.suppressed)
    if kind == Warning.TYPE:
        return Warning(node, session, stream, text(info.text))
    return UnknownEvent(node, session, stream, kind)


def take(event: int) -> Received:
    """Copies a blip_event_t into a Python object and frees it (always, even on error)."""
    try:
        info = EventInfo()
        info.size = ctypes.sizeof(EventInfo)
        code = LIB.blip_event_get_info(event, ctypes.byref(info))
        if code != 0:
            raise make_error(code, operation="event info")
        return _convert(info)
    finally:
        LIB.blip_event_free(event)
