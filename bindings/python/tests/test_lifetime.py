"""Closing and garbage collection: a receive waiting in another thread returns promptly when
its channel or context closes; closing in any order never touches freed memory; unclosed
objects collected by the GC, or left at interpreter exit, neither crash nor hang."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import unittest
import weakref
from typing import List, Optional

import blip
from support import (group_and_port, in_netns, needs_netns, package_env, run_python,
                     under_asan)

PROMPT = 2.0  # seconds: "promptly" (the library wakes waiters at once; slices are 0.1 s)


class Waiter(threading.Thread):
    """Runs `call` in a thread and records what it returned or raised, and when."""

    def __init__(self, call) -> None:
        super().__init__(daemon=True)
        self.call = call
        self.result: object = None
        self.error: Optional[BaseException] = None
        self.ended_at = 0.0

    def run(self) -> None:
        try:
            self.result = self.call()
        except BaseException as exc:  # noqa: BLE001 - recorded for the test
            self.error = exc
        self.ended_at = time.monotonic()


@needs_netns
class CloseWhileWaitingTest(unittest.TestCase):
    def setUp(self) -> None:
        self.ctx = blip.Context()
        self.addCleanup(self.ctx.close)

    def start_waiter(self, call) -> Waiter:
        waiter = Waiter(call)
        waiter.start()
        time.sleep(0.3)  # well inside the wait
        self.assertTrue(waiter.is_alive())
        return waiter

    def assert_closed_promptly(self, waiter: Waiter, closed_at: float) -> None:
        waiter.join(PROMPT)
        self.assertFalse(waiter.is_alive(), "the waiting call did not return")
        self.assertIsInstance(waiter.error, blip.Closed)
        self.assertLess(waiter.ended_at - closed_at, PROMPT)

    def test_channel_close_wakes_a_blocked_recv(self) -> None:
        ch = self.ctx.open(**group_and_port())
        waiter = self.start_waiter(lambda: ch.recv())  # no timeout: waits forever
        closed_at = time.monotonic()
        ch.close()
        self.assertLess(time.monotonic() - closed_at, PROMPT)
        self.assert_closed_promptly(waiter, closed_at)

    def test_context_close_wakes_a_blocked_recv(self) -> None:
        ch = self.ctx.open(**group_and_port())
        waiter = self.start_waiter(lambda: ch.recv(timeout=60))
        closed_at = time.monotonic()
        self.ctx.close()
        self.assert_closed_promptly(waiter, closed_at)
        self.assertTrue(ch.closed)
        ch.close()  # after its context: no crash, nothing to do
        with self.assertRaises(blip.Closed):
            ch.send(b"x")
        with self.assertRaises(blip.Closed):
            self.ctx.open(**group_and_port())

    def test_close_wakes_a_send_waiting_for_room(self) -> None:
        ch = self.ctx.open(**group_and_port(), max_message_size=1000, send_queue_bytes=1000,
                           rate_limit=100)

        def fill_then_block() -> None:
            while True:
                ch.send(b"x" * 1000)

        waiter = self.start_waiter(fill_then_block)
        closed_at = time.monotonic()
        ch.close()
        self.assert_closed_promptly(waiter, closed_at)

    def test_iteration_in_threads_while_context_closes(self) -> None:
        channels = [self.ctx.open(**group_and_port()) for _ in range(4)]
        waiters = [self.start_waiter(lambda ch=ch: list(ch)) for ch in channels]
        self.ctx.close()
        for waiter in waiters:
            waiter.join(PROMPT)
            self.assertFalse(waiter.is_alive())
            self.assertIsNone(waiter.error)  # iteration simply ends
        for ch in channels:
            ch.close()

    def test_concurrent_closes(self) -> None:
        for _ in range(5):
            ctx = blip.Context()
            channels = [ctx.open(**group_and_port()) for _ in range(3)]
            threads = [threading.Thread(target=ch.close) for ch in channels]
            threads.append(threading.Thread(target=ctx.close))
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(10)
                self.assertFalse(thread.is_alive())
            self.assertTrue(all(ch.closed for ch in channels))


class GarbageCollectionTest(unittest.TestCase):
    def test_unclosed_contexts(self) -> None:
        refs = []
        for _ in range(5):
            ctx = blip.Context()
            refs.append(weakref.ref(ctx))
            del ctx
        cycle: List[object] = [blip.Context()]
        cycle.append(cycle)  # a context inside a reference cycle
        refs.append(weakref.ref(cycle[0]))
        del cycle
        gc.collect()
        self.assertTrue(all(r() is None for r in refs))

    @needs_netns
    def test_unclosed_channels_and_cycles(self) -> None:
        refs = []
        for _ in range(3):
            ctx = blip.Context()
            rx = ctx.open(**group_and_port())
            tx = ctx.open(**group_and_port())
            tx.send(b"unread")
            # Cycles through both the channels and the context, collected in any order.
            holder = {"ctx": ctx, "channels": [rx, tx]}
            holder["self"] = holder
            rx.holder = holder  # type: ignore[attr-defined]
            refs += [weakref.ref(ctx), weakref.ref(rx), weakref.ref(tx)]
            del ctx, rx, tx, holder
            gc.collect()
        self.assertTrue(all(r() is None for r in refs))

    @needs_netns
    def test_dropped_channel_keeps_its_context_alive(self) -> None:
        where = group_and_port()
        ch = blip.Context().open(**where)  # the context's only reference is the channel
        gc.collect()
        self.assertFalse(ch.context.closed)
        tx = ch.context.open(**where)
        tx.send(b"still works")
        message = next(m for m in ch.events(idle_timeout=5) if isinstance(m, blip.Message))
        self.assertEqual(message.data, b"still works")
        ctx_ref = weakref.ref(ch.context)
        del ch, tx, message
        gc.collect()
        self.assertIsNone(ctx_ref())

    def test_objects_left_at_exit(self) -> None:
        # A context, channels (inside the namespace) and a daemon thread blocked in recv(),
        # all left to interpreter exit: it must exit cleanly, and soon.
        with_channels = in_netns()
        where = group_and_port()
        code = textwrap.dedent(f"""
            import threading, blip
            ctx = blip.Context()
            blip.Context()  # dropped at once
            if {with_channels}:
                ch = ctx.open(**{where!r})
                ch.send(b"bye")
                threading.Thread(target=lambda: list(ch), daemon=True).start()
                threading.Thread(target=lambda: ch.recv(), daemon=True).start()
                cycle = [ch, ctx.open(**{where!r})]
                cycle.append(cycle)
            print("done")
        """)
        started = time.monotonic()
        result = run_python(code, timeout=60, env=package_env())
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.strip(), "done")
        self.assertLess(time.monotonic() - started, 30)

    @unittest.skipUnless(hasattr(os, "fork"), "no fork()")
    @unittest.skipIf(under_asan(), "ASan's allocator is not fork-safe while another thread (the "
                     "library's loop) allocates: the child can deadlock inside malloc")
    def test_forked_child_neither_hangs_nor_touches_the_parents_loop(self) -> None:
        where = group_and_port()
        code = textwrap.dedent(f"""
            import os, sys, blip
            ctx = blip.Context()
            ch = ctx.open(**{where!r}) if {in_netns()} else None
            pid = os.fork()
            if pid == 0:  # the child: no loop thread here; exits normally (atexit, GC)
                try:
                    if ch is not None:
                        ch.send(b"x")
                    ctx.open(group="239.255.0.9", port=1, interface="127.0.0.1")
                except blip.Closed:
                    print("child: closed")
                sys.exit(0)
            _, status = os.waitpid(pid, 0)
            print("child exit", os.waitstatus_to_exitcode(status))
            if ch is not None:
                ch.send(b"parent still works")
            ctx.close()
        """)
        result = run_python(code, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.split("\n")[:2], ["child: closed", "child exit 0"])


@needs_netns
class InterruptTest(unittest.TestCase):
    def test_ctrl_c_interrupts_a_blocking_recv(self) -> None:
        code = textwrap.dedent(f"""
            import blip, signal, sys, time
            # Python leaves SIGINT ignored if it started so (e.g. in a background job).
            signal.signal(signal.SIGINT, signal.default_int_handler)
            ctx = blip.Context()
            ch = ctx.open(**{group_and_port()!r})
            print("waiting", flush=True)
            try:
                ch.recv()  # would wait forever
            except KeyboardInterrupt:
                print("interrupted", flush=True)
                ch.close()
                sys.exit(3)
        """)
        child = subprocess.Popen([sys.executable, "-c", code], env=package_env(),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            self.assertEqual(child.stdout.readline().strip(), "waiting")
            time.sleep(0.3)
            sent_at = time.monotonic()
            child.send_signal(signal.SIGINT)
            out, err = child.communicate(timeout=PROMPT + 5)
            self.assertEqual((child.returncode, out.strip()), (3, "interrupted"), err)
            self.assertLess(time.monotonic() - sent_at, PROMPT)
        finally:
            if child.poll() is None:
                child.kill()
                child.communicate()

    def test_interrupts_never_leave_the_context_waiting(self) -> None:
        # KeyboardInterrupt raised at random points of many calls (as Ctrl-C would be): the
        # bookkeeping of calls in progress must stay exact, or close() would wait forever.
        code = textwrap.dedent(f"""
            import _thread, signal, threading, time, blip
            ctx = blip.Context()
            where = {group_and_port()!r}
            channels = [ctx.open(**where), ctx.open(**where)]
            armed = False  # raise only inside the measured region, where it is caught
            stop = False

            def on_sigint(signum, frame):
                if armed:
                    raise KeyboardInterrupt

            def pester():
                while not stop:
                    _thread.interrupt_main()  # as a SIGINT would, at a random point
                    time.sleep(0.0003)

            signal.signal(signal.SIGINT, on_sigint)
            pester_thread = threading.Thread(target=pester, daemon=True)
            pester_thread.start()
            calls = interrupted = 0
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline:
                try:
                    armed = True
                    for ch in channels:
                        ch.try_recv()
                        ch.send(b"x")
                        ch.stats()
                        calls += 1
                    armed = False
                except KeyboardInterrupt:
                    armed = False
                    interrupted += 1
            stop = True
            pester_thread.join()
            started = time.monotonic()
            ctx.close()
            print(calls > 0, interrupted > 10, time.monotonic() - started < 2)
        """)
        result = run_python(code, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.split(), ["True", "True", "True"])


if __name__ == "__main__":
    unittest.main()
