"""Send and receive between two channels over loopback multicast, with injected loss on the
receiver: every message arrives, in order, byte-exact; stats and remote stats add up."""

from __future__ import annotations

import select
import threading
import time
import unittest
from typing import List

import blip
from support import group_and_port, needs_netns

COUNT = 2000


def payload(i: int) -> bytes:
    """Message i: 200..3000 bytes (some span two datagrams), its number first."""
    size = 200 + (i * 7919) % 2800
    head = b"%08d:" % i
    return head + bytes((i + k) % 251 for k in range(size - len(head)))


@needs_netns
class LoopbackTest(unittest.TestCase):
    def setUp(self) -> None:
        self.ctx = blip.Context()
        self.addCleanup(self.ctx.close)
        self.where = group_and_port()

    def receive_messages(self, ch: blip.Channel, count: int, idle: float = 10.0):
        messages: List[blip.Message] = []
        events: List[blip.Event] = []
        for item in ch.events(idle_timeout=idle):
            if isinstance(item, blip.Message):
                messages.append(item)
                if len(messages) == count:
                    break
            else:
                self.assertIsInstance(item, blip.Event)
                events.append(item)
        return messages, events

    def test_all_messages_in_order_despite_injected_loss(self) -> None:
        # The receiver opens first: it was there when the session began, so it gets message 0.
        rx = self.ctx.open(**self.where, inject_loss=0.1, inject_seed=7)
        tx = self.ctx.open(**self.where)
        sequences = [tx.send(payload(i)) for i in range(COUNT)]
        self.assertEqual(sequences, list(range(COUNT)))
        tx.flush(timeout=30)

        messages, events = self.receive_messages(rx, COUNT)
        self.assertEqual(len(messages), COUNT, f"events: {events}")
        for i, message in enumerate(messages):
            self.assertEqual(message.seq, i)
            self.assertEqual(message.data, payload(i), f"message {i}")
            self.assertEqual((message.node_id, message.sender), (tx.node_id, tx.node_id))
            self.assertEqual((message.session_id, message.stream_id), (tx.session_id, 0))
        self.assertFalse([e for e in events if isinstance(e, (blip.Loss, blip.Overrun))])
        self.assertIn(blip.SenderNew(tx.node_id, tx.session_id, 0), events)

        rx_stats, tx_stats = rx.stats(), tx.stats()
        for stats in (rx_stats, tx_stats):
            self.assertEqual(tuple(stats), blip.CHANNEL_STATS)  # every counter, in order
            self.assertTrue(all(isinstance(v, int) and v >= 0 for v in stats.values()))
        self.assertEqual(tx_stats["messages_sent"], COUNT)
        self.assertEqual(rx_stats["messages_received"], COUNT)
        self.assertGreater(rx_stats["injected_drops"], 0)
        self.assertGreater(rx_stats["repairs_received"], 0)
        self.assertGreater(rx_stats["naks_sent"], 0)
        self.assertEqual(rx_stats["messages_lost"], 0)
        self.assertGreater(tx_stats["repairs_sent"], 0)

        self.assertEqual(rx.remotes(), [(tx.node_id, 0)])
        remote = rx.remote_stats()
        self.assertEqual(list(remote), [(tx.node_id, 0)])
        counters = remote[(tx.node_id, 0)]
        self.assertEqual(tuple(counters), blip.REMOTE_STATS)
        self.assertEqual(counters["session_id"], tx.session_id)
        self.assertEqual(counters["messages"], COUNT)
        self.assertGreater(counters["repairs"], 0)
        self.assertEqual(tx.remote_stats(), {})  # the sender hears no one (loopback of itself)

    def test_streams_and_bytes_like_payloads(self) -> None:
        rx = self.ctx.open(**self.where)
        tx = self.ctx.open(**self.where, stream=5)
        self.assertEqual(tx.send(b"default stream"), 0)
        self.assertEqual(tx.send(bytearray(b"stream 9"), stream=9), 0)
        self.assertEqual(tx.send(memoryview(b"xx stream 9 again")[3:], stream=9), 1)
        self.assertEqual(tx.send(b""), 1)
        messages, _ = self.receive_messages(rx, 4)
        got = sorted((m.stream_id, m.seq, m.data) for m in messages)
        self.assertEqual(got, [(5, 0, b"default stream"), (5, 1, b""),
                               (9, 0, b"stream 9"), (9, 1, b"stream 9 again")])
        self.assertEqual(sorted(rx.remotes()), [(tx.node_id, 5), (tx.node_id, 9)])

    def test_fileno_works_with_select(self) -> None:
        rx = self.ctx.open(**self.where)
        tx = self.ctx.open(**self.where)
        rx_fd = rx.fileno()
        self.assertEqual(select.select([rx], [], [], 0)[0], [])
        tx.send(b"ping")
        while True:  # a SenderNew may come first
            readable, _, _ = select.select([rx], [], [], 5)
            self.assertEqual(readable, [rx])
            item = rx.try_recv()
            self.assertIsNotNone(item)  # readable means something is queued
            if isinstance(item, blip.Message):
                self.assertEqual(item.data, b"ping")
                break
        self.assertEqual(select.select([rx], [], [], 0)[0], [])
        rx.close()
        # A closed channel's descriptor is readable (it stays open until the context closes).
        self.assertEqual(select.select([rx_fd], [], [], 0)[0], [rx_fd])

    def test_iteration_ends_when_closed(self) -> None:
        rx = self.ctx.open(**self.where)
        tx = self.ctx.open(**self.where)
        for i in range(10):
            tx.send(b"%d" % i)
        seen: List[bytes] = []

        def close_after_ten() -> None:
            deadline = time.monotonic() + 10
            while len(seen) < 10 and time.monotonic() < deadline:
                time.sleep(0.01)
            rx.close()

        closer = threading.Thread(target=close_after_ten)
        closer.start()
        for item in rx:  # until closed
            if isinstance(item, blip.Message):
                seen.append(item.data)
        closer.join()
        self.assertEqual(seen, [b"%d" % i for i in range(10)])
        self.assertTrue(rx.closed)

    def test_two_senders_are_told_apart(self) -> None:
        rx = self.ctx.open(**self.where)
        a = self.ctx.open(**self.where, node_name="test/a")
        b = self.ctx.open(**self.where, node_id=0xB0B)
        self.assertEqual(b.node_id, 0xB0B)
        a.send(b"from a")
        b.send(b"from b")
        messages, _ = self.receive_messages(rx, 2)
        self.assertEqual({(m.sender, m.data) for m in messages},
                         {(a.node_id, b"from a"), (0xB0B, b"from b")})


if __name__ == "__main__":
    unittest.main()
