"""Blip for Python: reliable, sequenced messaging over IP multicast (libblip over ctypes).

    import blip

    with blip.Context() as ctx, ctx.open(group="239.255.0.1", port=5000,
                                         interface="127.0.0.1") as ch:
        ch.send(b"hello")
        for item in ch.events(idle_timeout=10):
            if isinstance(item, blip.Message):
                print(hex(item.sender), item.seq, item.data)
            else:
                print("event:", item)

Importing the package loads libblip (BLIP_LIBRARY, then the install prefix, then the build
tree; see blip._lib) and raises ImportError if its version does not suit this binding.
Only pull mode is offered: the library never calls into Python.
"""

from ._lib import LIBRARY_PATH as library_path
from ._lib import LIBRARY_VERSION as library_version
from ._version import __version__
from .channel import CHANNEL_STATS, REMOTE_STATS, Channel
from .context import Context
from .errors import (
    ERRORS,
    AddressInUse,
    AddressNotAvailable,
    BlipError,
    Closed,
    InternalError,
    InvalidArgument,
    InvalidState,
    IoError,
    MessageTooLarge,
    NoSuchDevice,
    NotSupported,
    OutOfMemory,
    ProtocolError,
    TimedOut,
    WouldBlock,
    error_class,
)
from .events import (
    EVENT_TYPES,
    LOSS_REASONS,
    Event,
    Loss,
    Message,
    Overrun,
    Received,
    SenderActive,
    SenderInactive,
    SenderNew,
    SenderRemoved,
    SenderRestarted,
    SocketError,
    UnknownEvent,
    Warning,  # noqa: F401 - blip.Warning, deliberately not in __all__
)
from .options import OPTIONS

__all__ = [
    "__version__",
    "library_path",
    "library_version",
    "Context",
    "Channel",
    "Message",
    "Event",
    "Loss",
    "Overrun",
    "SenderNew",
    "SenderRestarted",
    "SenderInactive",
    "SenderActive",
    "SenderRemoved",
    "SocketError",
    # Warning is left out of __all__: `from blip import *` must not shadow builtins.Warning.
    "UnknownEvent",
    "Received",
    "BlipError",
    "InvalidArgument",
    "OutOfMemory",
    "WouldBlock",
    "MessageTooLarge",
    "Closed",
    "TimedOut",
    "NotSupported",
    "AddressInUse",
    "AddressNotAvailable",
    "NoSuchDevice",
    "ProtocolError",
    "InvalidState",
    "IoError",
    "InternalError",
    "error_class",
    "ERRORS",
    "EVENT_TYPES",
    "LOSS_REASONS",
    "OPTIONS",
    "CHANNEL_STATS",
    "REMOTE_STATS",
]
