"""asyncio: receiving driven by the channel's descriptor in the event loop (no thread)."""

from __future__ import annotations

import asyncio
import threading
import time
import unittest
from typing import List

import blip
from support import group_and_port, needs_netns


def run(coroutine, timeout: float = 30):
    """Runs a coroutine in a fresh loop, with an overall time limit."""
    return asyncio.run(asyncio.wait_for(coroutine, timeout))


@needs_netns
class AsyncioTest(unittest.TestCase):
    def setUp(self) -> None:
        self.ctx = blip.Context()
        self.addCleanup(self.ctx.close)
        self.where = group_and_port()
        self.rx = self.ctx.open(**self.where, inject_loss=0.05)
        self.tx = self.ctx.open(**self.where)

    def test_async_for_receives_everything_in_order(self) -> None:
        count = 500

        async def main() -> List[bytes]:
            async def produce() -> None:
                for i in range(count):
                    self.tx.send(b"async %d" % i + b"." * 1200)
                    if i % 50 == 0:
                        await asyncio.sleep(0)  # let the consumer run meanwhile

            producer = asyncio.create_task(produce())
            received: List[bytes] = []
            async for item in self.rx:
                if isinstance(item, blip.Message):
                    self.assertEqual(item.seq, len(received))
                    received.append(item.data)
                    if len(received) == count:
                        break
                else:
                    self.assertNotIsInstance(item, blip.Loss)
            await producer
            return received

        received = run(main())
        self.assertEqual(received, [b"async %d" % i + b"." * 1200 for i in range(count)])

    def test_recv_async_and_arecv(self) -> None:
        async def main() -> None:
            self.assertIs(blip.Channel.arecv, blip.Channel.recv_async)
            loop = asyncio.get_running_loop()
            loop.call_later(0.1, self.tx.send, b"later")
            while True:
                item = await self.rx.arecv()
                if isinstance(item, blip.Message):
                    break
            self.assertEqual(item.data, b"later")

        run(main())

    def test_timeout_and_cancellation_lose_nothing(self) -> None:
        async def main() -> None:
            with self.assertRaises(asyncio.TimeoutError):
                await asyncio.wait_for(self.rx.recv_async(), 0.2)
            for i in range(3):
                self.tx.send(b"%d" % i)
            got = []
            while len(got) < 3:
                item = await self.rx.recv_async()
                if isinstance(item, blip.Message):
                    got.append(item.data)
            self.assertEqual(got, [b"0", b"1", b"2"])

        run(main())

    def test_concurrent_waiters_share_the_messages(self) -> None:
        async def main() -> List[bytes]:
            async def one() -> bytes:
                while True:
                    item = await self.rx.recv_async()
                    if isinstance(item, blip.Message):
                        return item.data

            tasks = [asyncio.create_task(one()) for _ in range(3)]
            await asyncio.sleep(0.1)
            for i in range(3):
                self.tx.send(b"%d" % i)
            return sorted(await asyncio.gather(*tasks))

        self.assertEqual(run(main()), [b"0", b"1", b"2"])

    def test_close_while_awaiting(self) -> None:
        async def main() -> None:
            async def wait_closed() -> float:
                with self.assertRaises(blip.Closed):
                    while True:
                        await self.rx.recv_async()
                return time.monotonic()

            task = asyncio.create_task(wait_closed())
            await asyncio.sleep(0.2)
            closed_at = time.monotonic()
            self.rx.close()  # on the loop's thread
            self.assertLess(await task - closed_at, 1.0)

        run(main())

    def test_close_from_another_thread_while_awaiting(self) -> None:
        async def main() -> None:
            items = []

            async def consume() -> None:
                async for item in self.rx:  # ends when closed
                    items.append(item)

            task = asyncio.create_task(consume())
            await asyncio.sleep(0.2)
            threading.Timer(0.1, self.ctx.close).start()  # the whole context, elsewhere
            await asyncio.wait_for(task, 2.0)

        run(main())
        self.assertTrue(self.rx.closed)

    def test_channel_moves_between_loops(self) -> None:
        async def one_message(payload: bytes) -> bytes:
            asyncio.get_running_loop().call_later(0.05, self.tx.send, payload)
            while True:
                item = await self.rx.recv_async()
                if isinstance(item, blip.Message):
                    return item.data

        self.assertEqual(run(one_message(b"first loop")), b"first loop")
        self.assertEqual(run(one_message(b"second loop")), b"second loop")


if __name__ == "__main__":
    unittest.main()
