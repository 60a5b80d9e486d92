"""Error mapping (every BLIP_E* code to its class, with the library's words) and the mapping of
option values to the typed setters. Only the tests marked needs_netns open a channel."""

from __future__ import annotations

import pickle
import unittest

import blip
from blip import _lib
from blip.errors import make_error
from blip.options import Config
from support import group_and_port, needs_netns

EXPECTED_CLASSES = {
    -1: "InvalidArgument",
    -2: "OutOfMemory",
    -3: "WouldBlock",
    -4: "MessageTooLarge",
    -5: "Closed",
    -6: "TimedOut",
    -7: "NotSupported",
    -8: "AddressInUse",
    -9: "AddressNotAvailable",
    -10: "NoSuchDevice",
    -11: "ProtocolError",
    -12: "InvalidState",
    -13: "IoError",
    -14: "InternalError",
}


class ErrorMappingTest(unittest.TestCase):
    def test_every_code_maps_to_its_class(self) -> None:
        self.assertEqual(len(blip.ERRORS), len(EXPECTED_CLASSES))
        for code, class_name in EXPECTED_CLASSES.items():
            with self.subTest(code=code):
                error = make_error(code, "some detail", "op")
                self.assertIs(type(error), getattr(blip, class_name))
                self.assertIsInstance(error, blip.BlipError)
                self.assertEqual(error.code, code)
                self.assertEqual(error.name, _lib.text(_lib.LIB.blip_err_name(code)))
                self.assertEqual(error.message, _lib.text(_lib.LIB.blip_strerror(code)))
                self.assertNotEqual(error.message, "unknown error")
                self.assertEqual(error.detail, "some detail")
                self.assertEqual(str(error), f"op: {error.message} ({error.name}): some detail")

    def test_pythonic_bases(self) -> None:
        self.assertIsInstance(make_error(-1), ValueError)
        self.assertIsInstance(make_error(-4), ValueError)
        self.assertIsInstance(make_error(-6), TimeoutError)
        timed_out = make_error(-6, "x")
        self.assertIsNone(timed_out.errno)  # not mistaken for an OS errno

    def test_unknown_code_gives_the_base_class(self) -> None:
        error = make_error(-999)
        self.assertIs(type(error), blip.BlipError)
        self.assertEqual(error.name, "BLIP_E_UNKNOWN")
        self.assertEqual(error.message, "unknown error")

    def test_errors_pickle(self) -> None:
        error = make_error(-1, "option 'ttl': bad", "open")
        copy = pickle.loads(pickle.dumps(error))
        self.assertIs(type(copy), blip.InvalidArgument)
        self.assertEqual((copy.code, copy.detail, str(copy)), (-1, error.detail, str(error)))


class OptionTest(unittest.TestCase):
    """Config.set: the Python type picks the setter; refusals carry blip_config_error()."""

    def setUp(self) -> None:
        self.config = Config()
        self.addCleanup(self.config.destroy)

    def test_out_of_range_is_invalid_argument_with_the_message(self) -> None:
        with self.assertRaises(blip.InvalidArgument) as caught:
            self.config.set("ttl", 300)
        self.assertEqual(caught.exception.detail, "option 'ttl': 300 is out of range 0..255")
        self.assertIn("300 is out of range 0..255", str(caught.exception))

    def test_unknown_option_is_not_supported(self) -> None:
        with self.assertRaises(blip.NotSupported) as caught:
            self.config.set("no_such_option", 1)
        self.assertIn("no such option", caught.exception.detail)

    def test_bool_is_tested_before_int(self) -> None:
        # inject_loss is a double: the library takes an int for it but refuses a bool, so a
        # True passed as an int would be silently accepted.
        with self.assertRaises(blip.InvalidArgument) as caught:
            self.config.set("inject_loss", True)
        self.assertIn("number", caught.exception.detail)
        self.config.set("loopback", False)
        self.config.set("loopback", 1)  # an int for a bool option is fine (0/1)
        with self.assertRaises(blip.InvalidArgument):
            self.config.set("ttl", True)  # bool for an int option: refused by the library

    def test_each_python_type(self) -> None:
        self.config.set("inject_loss", 0.25)
        self.config.set("inject_loss", 1)
        self.config.set("ttl", "4")  # text parses for every type
        self.config.set("accept_streams", [1, 2, 7])
        self.config.set("accept_streams", {3})
        self.config.set("node_id", "0x1f")
        self.config.set("node_id", 2**64 - 1)  # beyond int64: passed as text
        self.config.set("seed", None)  # None keeps the default
        with self.assertRaises(blip.InvalidArgument):
            self.config.set("node_id", 2**64)
        with self.assertRaises(blip.InvalidArgument):
            self.config.set("port", -1)
        with self.assertRaises(TypeError):
            self.config.set("ttl", object())
        with self.assertRaises(TypeError):
            self.config.set("accept_streams", ["1"])


class OpenErrorTest(unittest.TestCase):
    def setUp(self) -> None:
        self.ctx = blip.Context()
        self.addCleanup(self.ctx.close)

    def test_bad_option_fails_before_any_open(self) -> None:
        # group "" could never open: this test runs anywhere.
        with self.assertRaises(blip.InvalidArgument) as caught:
            self.ctx.open(group="", port=1, interface="127.0.0.1", ttl=999)
        self.assertIn("ttl", str(caught.exception))
        with self.assertRaises(TypeError):
            self.ctx.open(group="", port=1, interface="127.0.0.1", ttl=[object()])

    @needs_netns
    def test_bad_group_is_invalid_argument_with_the_message(self) -> None:
        args = group_and_port()
        args["group"] = "10.1.2.3"
        with self.assertRaises(blip.InvalidArgument) as caught:
            self.ctx.open(**args)
        error = caught.exception
        self.assertEqual(error.code, -1)
        self.assertEqual(error.name, "BLIP_EINVAL")
        self.assertEqual(error.operation, "open")
        self.assertIn("10.1.2.3 is not a multicast address", error.detail)
        self.assertIn("10.1.2.3 is not a multicast address", str(error))

    @needs_netns
    def test_unknown_interface_lists_the_candidates(self) -> None:
        args = group_and_port()
        args["interface"] = "nosuchif0"
        with self.assertRaises(blip.NoSuchDevice) as caught:
            self.ctx.open(**args)
        self.assertIn("lo (", caught.exception.detail)

    @needs_netns
    def test_channel_errors(self) -> None:
        with self.ctx.open(**group_and_port(), max_message_size=100) as ch:
            with self.assertRaises(blip.MessageTooLarge):
                ch.send(b"x" * 101)
            with self.assertRaises(TypeError):
                ch.send("text")  # type: ignore[arg-type]
            with self.assertRaises(blip.InvalidArgument):
                ch.send(b"x", stream=2**32)
            with self.assertRaises(blip.WouldBlock):
                ch.recv(timeout=0)
            with self.assertRaises(blip.TimedOut):
                ch.recv(timeout=0.05)
            self.assertIsNone(ch.try_recv())
            with self.assertRaises(ValueError):
                ch.recv(timeout=-1)
        for call in (lambda: ch.send(b"x"), ch.recv, ch.try_recv, ch.stats, ch.fileno,
                     ch.flush, ch.remotes):
            with self.assertRaises(blip.Closed):
                call()
        ch.close()  # a second close does nothing

    @needs_netns
    def test_send_would_block_or_waits(self) -> None:
        # A 2 KB/s rate limit with a queue of two messages: the queue fills at once.
        with self.ctx.open(**group_and_port(), max_message_size=1000, send_queue_bytes=2000,
                           rate_limit=2000) as ch:
            with self.assertRaises(blip.WouldBlock):
                for _ in range(1000):
                    ch.send(b"x" * 1000, block=False)
            with self.assertRaises(blip.TimedOut):
                for _ in range(100):  # waits for room, but never 10 ms worth
                    ch.send(b"x" * 1000, timeout=0.01)
            seq = ch.send(b"x" * 1000)  # waits (about 0.5 s) for room, then succeeds
            self.assertGreater(seq, 0)


if __name__ == "__main__":
    unittest.main()
