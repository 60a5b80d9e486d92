#!/usr/bin/env python3
"""Publishes log lines over Blip multicast: centralized logging without a broker.

Reads lines from stdin, or follows a file like `tail -F` (surviving rotation and
truncation), and sends each line as one message. Subscribers (log_subscriber.py) get every
line in order, with losses reported exactly instead of silently skipped.

    journalctl -f | log_publisher.py --interface eth0 --group 239.255.10.1
    log_publisher.py --interface 127.0.0.1 --follow /var/log/app.log --name web1/app

Give --name: the node id is derived from it, so subscribers recognise a restarted publisher.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from typing import Iterator, Optional, TextIO

import blip


def follow(path: str, from_start: bool, poll: float = 0.2) -> Iterator[str]:
    """Yields lines appended to `path`, reopening it when it is rotated or truncated."""
    handle: Optional[TextIO] = None
    inode = None
    while True:
        if handle is None:
            try:
                handle = open(path, encoding="utf-8", errors="replace")
            except FileNotFoundError:
                time.sleep(poll)
                continue
            inode = os.fstat(handle.fileno()).st_ino
            if not from_start:
                handle.seek(0, os.SEEK_END)
            from_start = True  # a rotated-in file is read from its beginning
        line = handle.readline()
        if line:
            yield line
            continue
        try:
            status = os.stat(path)
        except FileNotFoundError:
            status = None
        if status is None or status.st_ino != inode:  # rotated: finish, then reopen
            handle.close()
            handle = None
        elif status.st_size < handle.tell():  # truncated in place
            handle.seek(0)
        else:
            time.sleep(poll)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interface", required=True,
                        help="interface name, index or address (never guessed), e.g. 127.0.0.1")
    parser.add_argument("--group", default="239.255.10.1", help="multicast group")
    parser.add_argument("--port", type=int, default=5140, help="UDP port")
    parser.add_argument("--name", default=f"{socket.gethostname()}/log",
                        help="stable publisher name (sets node_name)")
    parser.add_argument("--follow", metavar="FILE", help="follow FILE instead of reading stdin")
    parser.add_argument("--from-start", action="store_true",
                        help="with --follow, publish the lines already in FILE first")
    parser.add_argument("--linger", type=float, default=2.0,
                        help="seconds to stay open at the end so receivers can repair losses")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="any Blip option, e.g. --set ttl=4 (repeatable)")
    args = parser.parse_args()

    options = dict(item.split("=", 1) for item in args.set)  # text: the library parses it
    lines = follow(args.follow, args.from_start) if args.follow else sys.stdin
    sent = 0
    with blip.Context() as ctx, ctx.open(group=args.group, port=args.port,
                                         interface=args.interface, node_name=args.name,
                                         **options) as channel:
        print(f"publishing to {args.group}:{args.port} on {args.interface} as {args.name} "
              f"(node {channel.node_id:#x})", file=sys.stderr)
        try:
            for line in lines:
                channel.send(line.rstrip("\n").encode("utf-8", "replace"))  # waits if full
                sent += 1
        except KeyboardInterrupt:
            pass
        finally:
            try:
                channel.flush(timeout=10)  # everything transmitted once...
                time.sleep(args.linger)  # ...and repairable a little longer
            except (blip.BlipError, KeyboardInterrupt):
                pass
    print(f"published {sent} lines", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
