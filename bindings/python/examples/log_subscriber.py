#!/usr/bin/env python3
"""Prints the log lines published with log_publisher.py, with sender and sequence number.

Every line arrives in order per publisher; a line that can never arrive is reported as a
loss with its exact sequence numbers, never skipped silently. Publishers coming, going and
restarting are reported too.

    log_subscriber.py --interface eth0 --group 239.255.10.1
    log_subscriber.py --interface 127.0.0.1 --stats    # counters at exit (Ctrl-C)
"""

from __future__ import annotations

import argparse
import sys
import time

import blip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interface", required=True,
                        help="interface name, index or address (never guessed), e.g. 127.0.0.1")
    parser.add_argument("--group", default="239.255.10.1", help="multicast group")
    parser.add_argument("--port", type=int, default=5140, help="UDP port")
    parser.add_argument("--recover", action="store_true",
                        help="on joining, fetch what publishers still hold (join=recover)")
    parser.add_argument("--idle-exit", type=float, metavar="SECONDS",
                        help="exit after SECONDS without any line or event")
    parser.add_argument("--stats", action="store_true", help="print counters at exit")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="any Blip option, e.g. --set inject_loss=0.1 (repeatable)")
    args = parser.parse_args()

    options = dict(item.split("=", 1) for item in args.set)
    if args.recover:
        options["join"] = "recover"
    out = sys.stdout
    with blip.Context() as ctx, ctx.open(group=args.group, port=args.port,
                                         interface=args.interface, **options) as channel:
        print(f"listening on {args.group}:{args.port} on {args.interface}", file=sys.stderr)
        try:
            for item in channel.events(idle_timeout=args.idle_exit):
                stamp = time.strftime("%H:%M:%S")
                if isinstance(item, blip.Message):
                    line = item.data.decode("utf-8", "replace")
                    out.write(f"{stamp} {item.sender:016x} #{item.seq}: {line}\n")
                elif isinstance(item, blip.Loss):
                    what = ("everything from here on" if item.open_ended
                            else f"{item.count} line(s) #{item.seq}..#{item.seq + item.count - 1}")
                    out.write(f"{stamp} {item.sender:016x} LOST {what} ({item.reason})\n")
                elif isinstance(item, blip.Overrun):
                    out.write(f"{stamp} {item.sender:016x} DROPPED {item.count} line(s) "
                              f"#{item.seq}..: this subscriber fell behind\n")
                elif isinstance(item, (blip.Warning, blip.SocketError)):
                    print(f"{stamp} {item.NAME}: {item.text}", file=sys.stderr)
                else:  # sender_new, sender_restarted, sender_inactive, ...
                    out.write(f"{stamp} {item.sender:016x} {item.NAME.replace('_', ' ')}\n")
                out.flush()
        except KeyboardInterrupt:
            pass
        if args.stats:
            stats = channel.stats()
            for name in ("messages_received", "repairs_received", "naks_sent",
                         "messages_lost", "injected_drops", "kernel_drops"):
                print(f"{name}: {stats[name]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
