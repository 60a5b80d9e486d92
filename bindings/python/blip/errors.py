"""Blip's error codes as Python exceptions: one BlipError subclass per BLIP_E* code.

The table below is explicit (not generated from the library at import) so that the drift test
can hold it against include/blip/blip.h: a code added to the header must be added here.
Depends only on _lib.
"""

from __future__ import annotations

from typing import Dict, NoReturn, Optional, Type

from ._lib import LIB, text


class BlipError(Exception):
    """A Blip call failed.

    Attributes:
        code: the negative BLIP_E* code, e.g. -1.
        name: the code's name, e.g. "BLIP_EINVAL".
        message: the library's words for the code (blip_strerror()).
        detail: more specific text when the library gave some, e.g. the config's error
            ("option 'ttl': 300 is out of range 0..255"), else "".
        operation: what the binding was doing, e.g. "open", else "".
    """

    #: The BLIP_E* code this class stands for (None for the base class).
    CODE: Optional[int] = None

    def __init__(self, code: int, detail: str = "", operation: str = "") -> None:
        self.code = code
        self.name = text(LIB.blip_err_name(code))
        self.message = text(LIB.blip_strerror(code))
        self.detail = detail
        self.operation = operation
        # One argument, the full text: TimeoutError (an OSError) would otherwise read the
        # arguments as errno, strerror and filename.
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = f"{self.operation}: " if self.operation else ""
        more = f": {self.detail}" if self.detail else ""
        return f"{where}{self.message} ({self.name}){more}"

    def __str__(self) -> str:
        return self._describe()

    def __reduce__(self):  # keeps pickling (e.g. across multiprocessing) working
        return (_rebuild, (self.code, self.detail, self.operation))


class InvalidArgument(BlipError, ValueError):
    """BLIP_EINVAL: an argument or option value is invalid."""

    CODE = -1


class OutOfMemory(BlipError):
    """BLIP_ENOMEM: the library ran out of memory."""

    CODE = -2


class WouldBlock(BlipError):
    """BLIP_EAGAIN: a queue is full (send) or empty (receive without waiting)."""

    CODE = -3


class MessageTooLarge(BlipError, ValueError):
    """BLIP_EMSGSIZE: the message is above the channel's max_message_size."""

    CODE = -4


class Closed(BlipError):
    """BLIP_ECLOSED: the channel (or its context) is closed or closing."""

    CODE = -5


class TimedOut(BlipError, TimeoutError):
    """BLIP_ETIMEDOUT: the wait ended before anything happened."""

    CODE = -6


class NotSupported(BlipError):
    """BLIP_ENOTSUP: an unknown option or counter name, or an unsupported operation."""

    CODE = -7


class AddressInUse(BlipError):
    """BLIP_EADDRINUSE: the group and port are taken (reuse_port off here or there)."""

    CODE = -8


class AddressNotAvailable(BlipError):
    """BLIP_EADDRNOTAVAIL: the address or interface is not available (or no such sender)."""

    CODE = -9


class NoSuchDevice(BlipError):
    """BLIP_ENODEV: no such network interface."""

    CODE = -10


class ProtocolError(BlipError):
    """BLIP_EPROTO: a malformed packet."""

    CODE = -11


class InvalidState(BlipError):
    """BLIP_ESTATE: the object is in the wrong state for this call."""

    CODE = -12


class IoError(BlipError):
    """BLIP_EIO: a system or socket error."""

    CODE = -13


class InternalError(BlipError):
    """BLIP_EINTERNAL: a bug in Blip; please report it."""

    CODE = -14


#: BLIP_E* name -> (code, exception class). Codes are never renumbered or reused.
ERRORS: Dict[str, tuple] = {
    "BLIP_EINVAL": (-1, InvalidArgument),
    "BLIP_ENOMEM": (-2, OutOfMemory),
    "BLIP_EAGAIN": (-3, WouldBlock),
    "BLIP_EMSGSIZE": (-4, MessageTooLarge),
    "BLIP_ECLOSED": (-5, Closed),
    "BLIP_ETIMEDOUT": (-6, TimedOut),
    "BLIP_ENOTSUP": (-7, NotSupported),
    "BLIP_EADDRINUSE": (-8, AddressInUse),
    "BLIP_EADDRNOTAVAIL": (-9, AddressNotAvailable),
    "BLIP_ENODEV": (-10, NoSuchDevice),
    "BLIP_EPROTO": (-11, ProtocolError),
    "BLIP_ESTATE": (-12, InvalidState),
    "BLIP_EIO": (-13, IoError),
    "BLIP_EINTERNAL": (-14, InternalError),
}

_BY_CODE: Dict[int, Type[BlipError]] = {code: cls for code, cls in ERRORS.values()}


def error_class(code: int) -> Type[BlipError]:
    """The exception class of a BLIP_E* code (BlipError itself for a code unknown here)."""
    return _BY_CODE.get(code, BlipError)


def make_error(code: int, detail: str = "", operation: str = "") -> BlipError:
    """An exception instance for a BLIP_E* code."""
    return error_class(code)(code, detail, operation)


def raise_error(code: int, detail: str = "", operation: str = "") -> NoReturn:
    """Raises the exception of a BLIP_E* code."""
    raise make_error(code, detail, operation)


def check(code: int, operation: str = "") -> None:
    """Raises unless `code` is BLIP_OK (0)."""
    if code != 0:
        raise make_error(code, operation=operation)


def _rebuild(code: int, detail: str, operation: str) -> BlipError:
    return make_error(code, detail, operation)
