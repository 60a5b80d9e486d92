"""Channel options: the table of names and types from blip.h, and a config built from keywords.

The table is explicit so that the drift test can hold it against the header's option table;
the library stays the authority on names and values (an option it knows and this table does
not still goes through, by its Python type). Depends on _lib and errors.
"""

from __future__ import annotations

import ctypes
from typing import Any, Dict, Mapping, Tuple, Union

from ._lib import LIB, text
from .errors import make_error

OptionType = Union[type, Tuple[type, ...]]

#: Every option of blip.h's table: name -> the Python type(s) its value takes.
#: bool = bool, int = int, double = float, string = str; node_id takes an int or a string
#: ("0x1f"). Any option also accepts a str, parsed by the library ("ttl"="4").
OPTIONS: Dict[str, OptionType] = {
    "group": str,
    "port": int,
    "interface": str,
    "ttl": int,
    "loopback": bool,
    "segmentation_offload": bool,
    "reuse_port": bool,
    "recv_buffer": int,
    "send_buffer": int,
    "datagram_size": int,
    "max_message_size": int,
    "stream": int,
    "accept_streams": str,
    "window_bytes": int,
    "window_messages": int,
    "send_queue_bytes": int,
    "send_queue_messages": int,
    "rate_limit": int,
    "repair_rate": int,
    "repair_burst": int,
    "repair_holdoff_us": int,
    "heartbeat_min_us": int,
    "heartbeat_max_us": int,
    "flow_control": bool,
    "flow_timeout_ms": int,
    "join": str,
    "reorder_buffer_bytes": int,
    "nak_delay_min_us": int,
    "nak_backoff_us": int,
    "repair_timeout_us": int,
    "adaptive_repair_timeout": bool,
    "repair_timeout_min_us": int,
    "nak_retry_max_us": int,
    "nak_max_retries": int,
    "sender_timeout_ms": int,
    "sender_forget_ms": int,
    "max_senders": int,
    "busy_poll_us": int,
    "receive_queue_messages": int,
    "receive_queue_bytes": int,
    "node_id": (int, str),
    "node_name": str,
    "seed": int,
    "inject_loss": float,
    "inject_seed": int,
}

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


class Config:
    """A blip_config_t for one open: create, fill from keywords, destroy (a context manager)."""

    def __init__(self) -> None:
        handle = ctypes.c_void_p()
        code = LIB.blip_config_create(ctypes.byref(handle))
        if code != 0:
            raise make_error(code, operation="config")
        self.handle: int = handle.value  # type: ignore[assignment]

    def __enter__(self) -> "Config":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.destroy()

    def destroy(self) -> None:
        """Frees the config (channels keep their own copy of the options)."""
        if self.handle:
            LIB.blip_config_destroy(self.handle)
            self.handle = 0

    def error(self) -> str:
        """blip_config_error(): why the last call that took this config failed."""
        return text(LIB.blip_config_error(self.handle))

    def set(self, name: str, value: Any) -> None:
        """Sets one option, choosing the setter by the value's Python type.

        bool -> blip_config_set_bool (tested before int: bool is an int subclass);
        int -> blip_config_set_int (as text beyond int64, e.g. a node_id above 2**63);
        float -> blip_config_set_double; str -> blip_config_set_string; a list, tuple or set
        of ints -> a comma-separated string (accept_streams=[1, 2]); None leaves the default.

        Raises:
            TypeError: a value of another type.
            BlipError: the library refused it (NotSupported for an unknown name,
                InvalidArgument for a bad value), with the library's message as `detail`.
        """
        if value is None:
            return
        key = name.encode()
        if isinstance(value, bool):
            code = LIB.blip_config_set_bool(self.handle, key, int(value))
        elif isinstance(value, int):
            if _INT64_MIN <= value <= _INT64_MAX:
                code = LIB.blip_config_set_int(self.handle, key, value)
            else:
                code = LIB.blip_config_set_string(self.handle, key, str(value).encode())
        elif isinstance(value, float):
            code = LIB.blip_config_set_double(self.handle, key, value)
        elif isinstance(value, str):
            code = LIB.blip_config_set_string(self.handle, key, value.encode())
        elif isinstance(value, (list, tuple, set, frozenset)) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            items = sorted(value) if isinstance(value, (set, frozenset)) else value
            joined = ",".join(str(v) for v in items)
            code = LIB.blip_config_set_string(self.handle, key, joined.encode())
        else:
            raise TypeError(
                f"option {name!r}: a {type(value).__name__} is not an option value "
                "(use bool, int, float, str, or a list of ints)"
            )
        if code != 0:
            raise make_error(code, self.error() or f"option {name!r}")

    def update(self, options: Mapping[str, Any]) -> None:
        """Sets every option of a mapping, in order."""
        for name, value in options.items():
            self.set(name, value)
