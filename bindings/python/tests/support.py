"""Helpers shared by the binding's tests: the network-namespace guard, unique groups and ports,
paths into the source tree, and a subprocess runner with the package on its path."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import unittest
from pathlib import Path
from typing import Dict, List, Optional

import blip

#: Always named explicitly: multicast on loopback only.
INTERFACE = "127.0.0.1"

#: The repository root, when the tests run from a source checkout (else None).
_ROOT = Path(__file__).resolve().parent.parent.parent.parent
SOURCE_ROOT: Optional[Path] = _ROOT if (_ROOT / "include" / "blip" / "blip.h").is_file() else None


def header_path() -> Optional[Path]:
    """include/blip/blip.h: $BLIP_HEADER, else the source checkout's."""
    override = os.environ.get("BLIP_HEADER")
    if override:
        return Path(override)
    return SOURCE_ROOT / "include" / "blip" / "blip.h" if SOURCE_ROOT else None


def in_netns() -> bool:
    """True inside the private network namespace of .ci/in-netns.sh."""
    return bool(os.environ.get("BLIP_NETNS"))


#: Decorator for tests that open channels (they send multicast).
needs_netns = unittest.skipUnless(
    in_netns(),
    "sends multicast: runs only inside a private network namespace "
    "(BLIP_NETNS unset; run via .ci/in-netns.sh)",
)

_rng = random.Random(os.getpid())
_used: set = set()


def under_asan() -> bool:
    """True when an AddressSanitizer runtime is loaded (a sanitizer build of libblip)."""
    try:
        with open("/proc/self/maps") as maps:
            return any("libasan" in line or "clang_rt.asan" in line for line in maps)
    except OSError:
        return False


def group_and_port() -> Dict[str, object]:
    """A group and port no other test (or concurrent ctest) is likely to use."""
    while True:
        pair = (f"239.255.{_rng.randrange(100, 250)}.{_rng.randrange(1, 250)}",
                _rng.randrange(30000, 60000))
        if pair not in _used:
            _used.add(pair)
            return {"group": pair[0], "port": pair[1], "interface": INTERFACE}


def package_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The environment for a child Python that imports the same blip package and library."""
    env = dict(os.environ)
    package_parent = str(Path(blip.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(
        [package_parent] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    env.setdefault("BLIP_LIBRARY", blip.library_path)
    env.update(extra or {})
    return env


def run_python(code: str, timeout: float = 60, env: Optional[Dict[str, str]] = None,
               args: Optional[List[str]] = None) -> subprocess.CompletedProcess:
    """Runs `code` in a child interpreter; returns the completed process (text output)."""
    return subprocess.run(
        [sys.executable, "-c", code] + (args or []),
        env=env if env is not None else package_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
