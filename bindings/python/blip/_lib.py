"""Finds and loads libblip, checks its version and declares its C API for ctypes.

The one module that knows the C signatures of include/blip/blip.h; the others call through
``LIB`` and never declare a function themselves. Standard library only.

Lookup order (the first library that loads wins):

1. ``BLIP_LIBRARY``: the path of the shared library (or of a directory holding it). When set,
   nothing else is tried, so a wrong value is reported rather than silently bypassed.
2. The install prefix: the ``lib``, ``lib64`` and multiarch library directories of the prefix
   this package is installed in (``PREFIX/lib/pythonX.Y/site-packages/blip``), then the
   dynamic loader by SONAME (``LD_LIBRARY_PATH``, the ld.so cache, the default directories),
   then whatever ``ctypes.util.find_library("blip")`` names.
3. The build tree, when the package runs from a source checkout: ``build*/`` at its root.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sysconfig
from ctypes import (
    POINTER,
    Structure,
    c_char_p,
    c_double,
    c_int,
    c_int64,
    c_size_t,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

from ._version import __version__

#: The binding's version as (major, minor, patch).
BINDING_VERSION: Tuple[int, int, int] = tuple(  # type: ignore[assignment]
    int(part) for part in __version__.split(".")[:3]
)
#: The library's SONAME; its number is the major version (CMake: SOVERSION = major).
SONAME = f"libblip.so.{BINDING_VERSION[0]}"

# C constants the binding itself needs (the full tables live in errors.py and events.py).
BLIP_OK = 0
BLIP_EAGAIN = -3
BLIP_ETIMEDOUT = -6
BLIP_STATS_CHANNEL = 0
BLIP_STATS_REMOTE = 1


class EventInfo(Structure):
    """``blip_event_info_t``, version 1 (fields only ever appended; checked by the drift test)."""

    _fields_ = [
        ("size", c_size_t),
        ("type", c_int),
        ("reason", c_int),
        ("node_id", c_uint64),
        ("session_id", c_uint64),
        ("stream_id", c_uint32),
        ("open_ended", c_int),
        ("sequence", c_uint64),
        ("count", c_uint64),
        ("old_session_id", c_uint64),
        ("data", c_void_p),
        ("length", c_size_t),
        ("error", c_int),
        ("text", c_char_p),
        ("suppressed", c_uint64),
    ]


# Handles are opaque pointers: c_void_p, so Python sees them as int (or None for NULL).
_HANDLE = c_void_p
_P_HANDLE = POINTER(c_void_p)

# name: (restype, argtypes). Every function of blip.h except the callback mode
# (blip_config_set_callback: calling Python from the loop thread is what the binding avoids)
# and the libuv embedding header.
_SIGNATURES = {
    "blip_strerror": (c_char_p, [c_int]),
    "blip_err_name": (c_char_p, [c_int]),
    "blip_version": (c_char_p, []),
    "blip_version_number": (c_int, []),
    "blip_event_type_name": (c_char_p, [c_int]),
    "blip_loss_reason_name": (c_char_p, [c_int]),
    "blip_event_get_info": (c_int, [_HANDLE, POINTER(EventInfo)]),
    "blip_event_free": (c_int, [_HANDLE]),
    "blip_config_create": (c_int, [_P_HANDLE]),
    "blip_config_destroy": (c_int, [_HANDLE]),
    "blip_config_set_string": (c_int, [_HANDLE, c_char_p, c_char_p]),
    "blip_config_set_int": (c_int, [_HANDLE, c_char_p, c_int64]),
    "blip_config_set_double": (c_int, [_HANDLE, c_char_p, c_double]),
    "blip_config_set_bool": (c_int, [_HANDLE, c_char_p, c_int]),
    "blip_config_error": (c_char_p, [_HANDLE]),
    "blip_context_create": (c_int, [_P_HANDLE]),
    "blip_context_destroy": (c_int, [_HANDLE]),
    "blip_channel_open": (c_int, [_HANDLE, _HANDLE, _P_HANDLE]),
    "blip_channel_close": (c_int, [_HANDLE]),
    "blip_channel_send": (c_int, [_HANDLE, c_char_p, c_size_t, POINTER(c_uint64)]),
    "blip_channel_send_stream": (
        c_int,
        [_HANDLE, c_uint32, c_char_p, c_size_t, POINTER(c_uint64)],
    ),
    "blip_channel_wait_writable": (c_int, [_HANDLE, c_int]),
    "blip_channel_wait_sent": (c_int, [_HANDLE, c_int]),
    "blip_channel_receive": (c_int, [_HANDLE, c_int, _P_HANDLE]),
    "blip_channel_fd": (c_int, [_HANDLE, POINTER(c_int)]),
    "blip_channel_identity": (c_int, [_HANDLE, POINTER(c_uint64), POINTER(c_uint64)]),
    "blip_stat_name": (c_int, [c_int, c_size_t, POINTER(c_char_p)]),
    "blip_channel_stat": (c_int, [_HANDLE, c_char_p, POINTER(c_uint64)]),
    "blip_channel_remotes": (
        c_int,
        [_HANDLE, POINTER(c_uint64), POINTER(c_uint32), c_size_t, POINTER(c_size_t)],
    ),
    "blip_channel_remote_stat": (
        c_int,
        [_HANDLE, c_uint64, c_uint32, c_char_p, POINTER(c_uint64)],
    ),
}


# ---- Lookup -----------------------------------------------------------------------------------


def _prefix_library_dirs(package_dir: Path) -> List[Path]:
    """Library directories of the prefix the package is installed in, if it is in one.

    ``PREFIX/lib/python3.11/site-packages/blip`` (or ``dist-packages``, or ``lib64``) gives
    ``PREFIX/lib``, ``PREFIX/lib64`` and ``PREFIX/lib/<multiarch>``: where ``cmake --install``
    puts libblip for the same prefix.
    """
    site = package_dir.parent
    if site.name not in ("site-packages", "dist-packages"):
        return []
    pyver = site.parent
    if not pyver.name.startswith("python") or pyver.parent.name not in ("lib", "lib64"):
        return []
    prefix = pyver.parent.parent
    dirs = [prefix / "lib", prefix / "lib64"]
    multiarch = sysconfig.get_config_var("MULTIARCH")
    if multiarch:
        dirs.append(prefix / "lib" / multiarch)
    return dirs


def _build_tree_dirs(package_dir: Path) -> List[Path]:
    """Build directories of the source checkout the package runs from, newest library first."""
    root = package_dir.parent.parent.parent  # bindings/python/blip -> the repository
    if not (root / "include" / "blip" / "blip.h").is_file():
        return []
    found = [p.parent for p in root.glob(f"build*/{SONAME}") if p.exists()]
    return sorted(found, key=lambda d: (d / SONAME).stat().st_mtime, reverse=True)


def _search_order(package_dir: Path) -> Iterator[Tuple[str, str]]:
    """Yields (where, what to dlopen) in lookup order, after BLIP_LIBRARY."""
    for directory in _prefix_library_dirs(package_dir):
        for name in (SONAME, "libblip.so"):
            yield "install prefix of the package", str(directory / name)
    yield "dynamic loader (SONAME)", SONAME
    found = ctypes.util.find_library("blip")
    if found and found != SONAME:
        yield "ctypes.util.find_library", found
    for directory in _build_tree_dirs(package_dir):
        yield "build tree", str(directory / SONAME)


def _load() -> ctypes.CDLL:
    """Loads libblip (see the module docstring) or raises ImportError saying what was tried."""
    override = os.environ.get("BLIP_LIBRARY")
    if override:
        path = Path(override)
        if path.is_dir():
            path = path / SONAME
        try:
            return ctypes.CDLL(str(path))
        except OSError as exc:
            raise ImportError(
                f"blip: cannot load the library named by BLIP_LIBRARY={override!r}: {exc}"
            ) from None
    tried: List[str] = []
    for where, target in _search_order(Path(__file__).resolve().parent):
        if os.sep in target and not os.path.exists(target):
            tried.append(f"{where}: {target}: no such file")
            continue
        try:
            return ctypes.CDLL(target)
        except OSError as exc:
            tried.append(f"{where}: {exc}")
    if not _build_tree_dirs(Path(__file__).resolve().parent):
        tried.append("build tree: none (no build*/ beside the package's source checkout)")
    detail = "".join(f"\n  {line}" for line in tried)
    raise ImportError(
        f"blip: cannot find libblip ({SONAME}). Install it (cmake --install BUILD_DIR), add its "
        f"directory to LD_LIBRARY_PATH, or set BLIP_LIBRARY to the path of {SONAME}. "
        f"Tried:{detail}"
    )


class _DlInfo(Structure):
    _fields_ = [
        ("dli_fname", c_char_p),
        ("dli_fbase", c_void_p),
        ("dli_sname", c_char_p),
        ("dli_saddr", c_void_p),
    ]


def _path_of(lib: ctypes.CDLL) -> str:
    """The file the dynamic loader actually mapped for `lib` (dladdr), else the name given."""
    try:
        dladdr = ctypes.CDLL(None).dladdr
        dladdr.restype = c_int
        dladdr.argtypes = [c_void_p, POINTER(_DlInfo)]
        info = _DlInfo()
        address = ctypes.cast(lib.blip_version, c_void_p).value
        if dladdr(address, ctypes.byref(info)) and info.dli_fname:
            return os.path.realpath(os.fsdecode(info.dli_fname))
    except (AttributeError, OSError):
        pass
    return str(lib._name)


# ---- Version check ----------------------------------------------------------------------------


def check_version(number: int, text: str, path: str) -> None:
    """Raises ImportError unless library version `number` / `text` suits this binding.

    Before 1.0 every minor release may break the API, so major and minor must both match;
    from 1.0 on the major must match and the library's minor must be at least the binding's
    (the binding may use what that minor release added).
    """
    have = (number // 10000, number // 100 % 100, number % 100)
    want = BINDING_VERSION
    have_text = "%d.%d.%d" % have
    where = f"libblip at {path}"
    if text != have_text:
        raise ImportError(
            f"blip: {where} is inconsistent: blip_version() says {text!r} but "
            f"blip_version_number() says {number} ({have_text}); the library is damaged or "
            "not libblip"
        )
    hint = (
        f"Install libblip {want[0]}.{want[1]}.x (or a binding matching {have_text}), or point "
        f"BLIP_LIBRARY at a matching {SONAME}."
    )
    if have[0] != want[0]:
        raise ImportError(
            f"blip: {where} is version {have_text}, but this binding ({__version__}) needs "
            f"major version {want[0]} ({SONAME}); the major versions differ. {hint}"
        )
    if want[0] == 0 and have[1] != want[1]:
        raise ImportError(
            f"blip: {where} is version {have_text}, but this binding ({__version__}) needs "
            f"{want[0]}.{want[1]}.x: before 1.0 the major and minor versions must both "
            f"match, since a minor release may change the API. {hint}"
        )
    if want[0] > 0 and have[1] < want[1]:
        raise ImportError(
            f"blip: {where} is version {have_text}, older than this binding "
            f"({__version__}) needs: {want[0]}.{want[1]} or a later {want[0]}.x. {hint}"
        )


def _declare(lib: ctypes.CDLL, path: str) -> None:
    """Sets restype/argtypes of every function; ImportError names a missing one."""
    for name, (restype, argtypes) in _SIGNATURES.items():
        try:
            function = getattr(lib, name)
        except AttributeError:
            raise ImportError(
                f"blip: libblip at {path} lacks {name}(): not libblip, or a broken build"
            ) from None
        function.restype = restype
        function.argtypes = argtypes


def _open_library() -> Tuple[ctypes.CDLL, str]:
    lib = _load()
    path = _path_of(lib)
    try:
        version_number = lib.blip_version_number
        version_text = lib.blip_version
    except AttributeError:
        raise ImportError(f"blip: {path} is not libblip (no blip_version_number())") from None
    version_number.restype, version_number.argtypes = c_int, []
    version_text.restype, version_text.argtypes = c_char_p, []
    check_version(version_number(), version_text().decode(), path)
    _declare(lib, path)
    return lib, path


LIB, LIBRARY_PATH = _open_library()
#: The loaded library's version string, e.g. "0.1.0".
LIBRARY_VERSION: str = LIB.blip_version().decode()


def text(value: Optional[bytes]) -> str:
    """Decodes a C string from the library (UTF-8; never fails on bad bytes)."""
    return value.decode("utf-8", "replace") if value else ""


def stat_names(scope: int) -> Tuple[str, ...]:
    """Every counter name of a scope, in the library's order (blip_stat_name())."""
    names = []
    name = c_char_p()
    index = 0
    while LIB.blip_stat_name(scope, index, ctypes.byref(name)) == BLIP_OK:
        names.append(text(name.value))
        index += 1
    return tuple(names)
