"""Drift between include/blip/blip.h and the binding's explicit tables.

The binding keeps its own tables (error classes, option names and types, event types, loss
reasons, the event-info struct, the C functions it declares) so that a change to the header
fails here instead of going unnoticed.
"""

from __future__ import annotations

import re
import unittest
from typing import Dict, List, Tuple

import blip
import blip.options
from blip import _lib
from support import SOURCE_ROOT, header_path

# Functions of blip.h the binding leaves out on purpose: callback mode would call Python from
# the library's loop thread.
DELIBERATELY_UNBOUND = {"blip_config_set_callback"}


def _comment_text(lines: List[str]) -> str:
    """Comment lines without their leading " * "."""
    return " ".join(re.sub(r"^\s*\*?\s?", "", line).strip() for line in lines)


def parse_option_table(header: str) -> Dict[str, str]:
    """The `| name | type | default | meaning |` table of blip.h: name -> type column.

    Tolerates rows wrapped over several comment lines, and several rows on one line.
    """
    lines = header.splitlines()
    start = next(i for i, line in enumerate(lines)
                 if re.search(r"\|\s*name\s*\|\s*type\s*\|\s*default\s*\|\s*meaning\s*\|", line))
    end = start
    while end < len(lines) and re.sub(r"^\s*\*", "", lines[end]).strip():
        end += 1  # the table ends at the first empty comment line
    cells = [cell.strip() for cell in _comment_text(lines[start:end]).split("|")]
    # "| a | b | c | d | | e | ..." splits into '', a, b, c, d, '', e, ...: rows of 4 cells
    # separated by one empty cell.
    rows: List[Tuple[str, ...]] = []
    i = 1
    while i + 4 <= len(cells):
        rows.append(tuple(cells[i:i + 4]))
        i += 5
    header_row, separator, *body = rows
    assert header_row == ("name", "type", "default", "meaning"), header_row
    assert all(set(c) <= {"-"} for c in separator), separator
    return {row[0]: row[1] for row in body}


def _python_type(column: str):
    if column.startswith("int or string"):
        return (int, str)
    first = column.split()[0]
    return {"string": str, "int": int, "bool": bool, "double": float}[first]


def _defines(header: str, name: str) -> Dict[str, int]:
    """`#define NAME VALUE` lines whose NAME matches the regex `name`: NAME -> VALUE."""
    pattern = rf"^#define\s+({name})\s+\(?(-?\d+)\)?"
    return {m.group(1): int(m.group(2)) for m in re.finditer(pattern, header, re.M)}


class HeaderDriftTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        path = header_path()
        if path is None or not path.is_file():
            raise unittest.SkipTest("blip.h not found (set BLIP_HEADER)")
        cls.header = path.read_text()

    def test_every_error_code_has_its_class(self) -> None:
        codes = _defines(self.header, r"BLIP_E[A-Z0-9]+")
        self.assertGreaterEqual(len(codes), 14)
        for name, code in codes.items():
            with self.subTest(name=name):
                self.assertTrue(name in blip.ERRORS, f"{name} ({code}) missing in blip.ERRORS")
                self.assertEqual(blip.ERRORS[name][0], code)
                cls = blip.error_class(code)
                self.assertIsNot(cls, blip.BlipError)
                self.assertEqual(cls.CODE, code)
                self.assertEqual(cls(code).name, name)  # blip_err_name() agrees
        self.assertEqual(set(blip.ERRORS), set(codes), "binding knows codes the header lacks")

    def test_every_option_is_known_with_its_type(self) -> None:
        table = parse_option_table(self.header)
        self.assertGreaterEqual(len(table), 30)
        for name, column in table.items():
            with self.subTest(option=name):
                self.assertTrue(name in blip.OPTIONS, f"{name!r} ({column}) missing in OPTIONS")
                self.assertEqual(blip.OPTIONS[name], _python_type(column), column)
        self.assertEqual(set(blip.OPTIONS), set(table), "binding knows options the header lacks")

    def test_the_library_knows_every_option(self) -> None:
        # An unknown name gives BLIP_ENOTSUP; a known one accepts or refuses the value.
        with blip.options.Config() as config:
            for name in blip.OPTIONS:
                with self.subTest(option=name):
                    code = _lib.LIB.blip_config_set_string(config.handle, name.encode(), b"?")
                    self.assertNotEqual(code, blip.NotSupported.CODE, config.error())

    def test_option_table_parser_handles_wrapped_rows(self) -> None:
        sample = (" * | name | type | default | meaning |\n"
                  " * |------|------|---------|---------|\n"
                  " * | a | int | 1 | first,\n * wrapped | | b | string | \"\" | second |\n"
                  " * | c | bool | 1 | third |\n *\n")
        self.assertEqual(parse_option_table(sample), {"a": "int", "b": "string", "c": "bool"})

    def test_every_event_type_and_loss_reason_is_known(self) -> None:
        events = _defines(self.header, r"BLIP_EVENT_\w+")
        self.assertEqual({k: v[0] for k, v in blip.EVENT_TYPES.items()}, events)
        for name, (number, cls) in blip.EVENT_TYPES.items():
            if cls is not blip.Message:
                self.assertEqual(cls.TYPE, number, name)
                self.assertEqual(cls.NAME, _lib.text(_lib.LIB.blip_event_type_name(number)))
        self.assertEqual(blip.LOSS_REASONS, _defines(self.header, r"BLIP_LOSS_\w+"))

    def test_event_info_struct_matches(self) -> None:
        body = re.search(r"typedef struct blip_event_info \{(.*?)\} blip_event_info_t;",
                         self.header, re.S)
        self.assertIsNotNone(body)
        fields = re.findall(r"^\s*[\w\s\*]*?[\s\*](\w+);", body.group(1), re.M)
        self.assertEqual(fields, [name for name, _ in _lib.EventInfo._fields_])

    def test_every_function_is_declared(self) -> None:
        declared = set(re.findall(r"BLIP_API\s+[^;(]*?\b(blip_\w+)\s*\(", self.header))
        self.assertGreaterEqual(len(declared), 30)
        missing = declared - set(_lib._SIGNATURES) - DELIBERATELY_UNBOUND
        self.assertFalse(missing, f"blip.h functions the binding does not declare: {missing}")
        self.assertFalse(set(_lib._SIGNATURES) - declared, "binding declares unknown functions")

    def test_binding_version_matches_the_project(self) -> None:
        if SOURCE_ROOT is None:
            self.skipTest("not in a source checkout")
        cmake = (SOURCE_ROOT / "CMakeLists.txt").read_text()
        project = re.search(r"project\(blip VERSION (\d+)\.(\d+)\.(\d+)", cmake)
        self.assertIsNotNone(project)
        self.assertEqual(tuple(int(x) for x in project.groups()[:2]), _lib.BINDING_VERSION[:2],
                         "bump blip/_version.py with the project version (CMakeLists.txt)")

    def test_stat_names_are_unique_and_readable(self) -> None:
        for names in (blip.CHANNEL_STATS, blip.REMOTE_STATS):
            self.assertTrue(names)
            self.assertEqual(len(names), len(set(names)))
            self.assertTrue(all(re.fullmatch(r"[a-z_]+", n) for n in names))
        for expected in ("messages_sent", "naks_sent", "kernel_drops", "injected_drops"):
            self.assertIn(expected, blip.CHANNEL_STATS)


if __name__ == "__main__":
    unittest.main()
