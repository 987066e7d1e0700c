"""The repository tests itself: no test reads files from outside it (a user's clone has no ../shared)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests import openapi_check

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
OUTSIDE = re.compile(r"""\.\./shared|parents\[\d+\]\s*/\s*["']shared["']""")


def test_no_source_or_test_reaches_outside_the_repository():
    offenders = [str(path.relative_to(ROOT)) for folder in ("cwtui", "tests", ".ci")
                 for path in sorted((ROOT / folder).rglob("*"))
                 if path.is_file() and path.suffix in ("", ".py", ".sh") and path != Path(__file__)
                 and OUTSIDE.search(path.read_text(encoding="utf-8", errors="replace"))]
    assert offenders == []


def test_the_spec_is_the_copy_in_tests_data_with_the_documented_hash(monkeypatch):
    monkeypatch.delenv("CWTUI_OPENAPI", raising=False)
    assert openapi_check.spec_path() == DATA / "jellyfin-openapi.json"
    documented = re.search(r"sha256: `([0-9a-f]{64})`", (DATA / "README.md").read_text()).group(1)
    assert hashlib.sha256(openapi_check.spec_path().read_bytes()).hexdigest() == documented


def test_cwtui_openapi_still_points_the_checks_elsewhere(monkeypatch, tmp_path):
    other = tmp_path / "spec.json"
    other.write_text("{}")
    monkeypatch.setenv("CWTUI_OPENAPI", str(other))
    assert openapi_check.spec_path() == other


def test_the_tests_that_read_data_pass_in_a_copy_with_nothing_beside_it(tmp_path):
    """A copy of the repository alone in a folder runs the sample and spec tests from there."""
    copy = tmp_path / "alone" / "cwtui-repo"
    for folder in ("cwtui", "tests"):
        shutil.copytree(ROOT / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__", "__snapshots__"))
    shutil.copy(ROOT / "pyproject.toml", copy)
    assert not (copy.parent / "shared").exists()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/core/test_dto.py",
         "tests/emulator/test_openapi.py"],
        cwd=copy, capture_output=True, text=True, timeout=300,
        env={k: v for k, v in os.environ.items() if k != "CWTUI_OPENAPI"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "passed" in done.stdout
    imported = subprocess.run([sys.executable, "-c", "import cwtui, tests.openapi_check as o; "
                               "print(cwtui.__file__); print(o.spec_path())"],
                              cwd=copy, capture_output=True, text=True, timeout=60)
    assert imported.stdout.splitlines() == [str(copy / "cwtui" / "__init__.py"),
                                            str(copy / "tests" / "data" / "jellyfin-openapi.json")]
