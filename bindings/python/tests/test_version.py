"""The version check at import and the library lookup."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import unittest

import blip
from blip import _lib
from support import package_env, run_python


class VersionCheckTest(unittest.TestCase):
    def test_the_loaded_library_suits_the_binding(self) -> None:
        major, minor, _ = _lib.BINDING_VERSION
        number = _lib.LIB.blip_version_number()
        self.assertEqual((number // 10000, number // 100 % 100), (major, minor))
        self.assertEqual(blip.library_version, f"{major}.{minor}.{number % 100}")
        self.assertTrue(os.path.isabs(blip.library_path))

    def test_expected_library_was_loaded(self) -> None:
        expected = os.environ.get("BLIP_EXPECT_LIBRARY")
        if not expected:
            self.skipTest("BLIP_EXPECT_LIBRARY not set")
        self.assertEqual(os.path.realpath(blip.library_path), os.path.realpath(expected))

    def check(self, number: int, text: str) -> str:
        with self.assertRaises(ImportError) as caught:
            _lib.check_version(number, text, "/x/libblip.so.0")
        return str(caught.exception)

    def test_mismatches_are_explained(self) -> None:
        major, minor, patch = _lib.BINDING_VERSION
        ok = major * 10000 + minor * 100
        _lib.check_version(ok + 7, f"{major}.{minor}.7", "/x")  # any patch is fine

        other_major = (major + 1) * 10000 + minor * 100
        message = self.check(other_major, f"{major + 1}.{minor}.0")
        self.assertIn(f"is version {major + 1}.{minor}.0", message)
        self.assertIn("major versions differ", message)
        self.assertIn("/x/libblip.so.0", message)
        self.assertIn(blip.__version__, message)

        message = self.check(ok + 100, f"{major}.{minor + 1}.0")
        if major == 0:
            self.assertIn("major and minor versions must both match", message)
            self.assertIn(f"needs {major}.{minor}.x", message)
        message = self.check(ok, "9.9.9")
        self.assertIn("inconsistent", message)

    def test_rules_from_1_0(self) -> None:
        saved = _lib.BINDING_VERSION
        _lib.BINDING_VERSION = (1, 2, 0)
        try:
            _lib.check_version(10200, "1.2.0", "/x")
            _lib.check_version(10305, "1.3.5", "/x")  # a newer minor is compatible
            self.assertIn("older than this binding", self.check(10105, "1.1.5"))
            self.assertIn("major versions differ", self.check(20200, "2.2.0"))
        finally:
            _lib.BINDING_VERSION = saved


class LookupTest(unittest.TestCase):
    def import_with(self, library: str) -> str:
        env = package_env({"BLIP_LIBRARY": library})
        result = run_python("import blip", env=env)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("ImportError", result.stderr)
        return result.stderr

    def test_bad_override_is_reported_not_bypassed(self) -> None:
        stderr = self.import_with("/nonexistent/libblip.so.0")
        self.assertIn("BLIP_LIBRARY='/nonexistent/libblip.so.0'", stderr)

    def test_a_library_that_is_not_libblip(self) -> None:
        stderr = self.import_with("libm.so.6")
        self.assertIn("is not libblip", stderr)

    def test_import_refuses_a_library_of_another_version(self) -> None:
        compiler = shutil.which(os.environ.get("CC", "cc")) or shutil.which("cc")
        if not compiler:
            self.skipTest("no C compiler to build a stand-in library")
        major, minor, _ = _lib.BINDING_VERSION
        with tempfile.TemporaryDirectory() as tmp:
            source = os.path.join(tmp, "fake.c")
            library = os.path.join(tmp, _lib.SONAME)
            with open(source, "w") as out:
                number = major * 10000 + (minor + 1) * 100
                text = f"{major}.{minor + 1}.0"
                out.write(f"int blip_version_number(void) {{ return {number}; }}\n"
                          f'const char *blip_version(void) {{ return "{text}"; }}\n')
            built = subprocess.run([compiler, "-shared", "-fPIC", "-o", library, source],
                                   capture_output=True, text=True)
            if built.returncode != 0:
                self.skipTest(f"cannot build a shared library: {built.stderr}")
            stderr = self.import_with(library)
        self.assertIn(f"is version {major}.{minor + 1}.0", stderr)
        self.assertIn(library, stderr)

    def test_override_may_name_a_directory(self) -> None:
        env = package_env({"BLIP_LIBRARY": os.path.dirname(blip.library_path)})
        result = run_python("import blip; print(blip.library_path)", env=env)
        if result.returncode != 0 and not os.path.exists(
                os.path.join(os.path.dirname(blip.library_path), _lib.SONAME)):
            self.skipTest(f"no {_lib.SONAME} link beside {blip.library_path}")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(os.path.realpath(result.stdout.strip()),
                         os.path.realpath(blip.library_path))


if __name__ == "__main__":
    unittest.main()
