"""The core, the emulator and the CLI never import Textual or Rich: the UI is a thin layer over them."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEADLESS = ["cwtui.core.planner", "cwtui.core.apply", "cwtui.core.undo", "cwtui.core.sync", "cwtui.core.config",
            "cwtui.core.jellyfin", "cwtui.core.snapshot", "cwtui.core.snapshot_source", "cwtui.core.snapshot_take",
            "cwtui.emulator", "cwtui.cli", "cwtui.demo"]


@pytest.mark.parametrize("module", HEADLESS)
def test_headless_modules_do_not_import_textual(module):
    code = f"import {module}, sys; print(sorted(m for m in ('textual', 'rich') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
