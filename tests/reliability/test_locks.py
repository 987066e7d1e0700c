"""Careless hands: two runs on one pair never interleave (a flock in the state dir, tested across processes)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cwtui.core.errors import EXIT_USAGE
from cwtui.core.locks import RunLocked, pair_lock

HOLDER = """
import sys
from pathlib import Path
from cwtui.core.locks import pair_lock
with pair_lock(Path(sys.argv[1]), sys.argv[2]):
    print("held", flush=True)
    sys.stdin.readline()
print("released", flush=True)
"""


def _holder(state_dir, pair):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(state_dir), pair], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "held\n", proc.stderr.read()
    return proc


@pytest.mark.parametrize("pair", ["home-to-cabin", "../../etc/passwd", "x" * 400, "ünï cödé/..\x1b[2J"])
def test_a_second_run_on_a_held_pair_is_refused_then_allowed_once_released(tmp_path, pair):
    holder = _holder(tmp_path, pair)
    try:
        with pytest.raises(RunLocked) as caught:
            with pair_lock(tmp_path, pair):
                pytest.fail("entered a pair another process holds")
        text = str(caught.value)
        assert "another cwtui run holds pair" in text and "\x1b" not in text
        assert caught.value.exit_code == EXIT_USAGE
        with pair_lock(tmp_path, "some-other-pair"):  # other pairs are not held up
            pass
    finally:
        out, _ = holder.communicate("\n", timeout=30)
    assert out == "released\n"
    with pair_lock(tmp_path, pair):  # free again
        pass
    assert all(p.parent == tmp_path / "locks" for p in tmp_path.rglob("*.lock")), "lock files stay in the state dir"


def test_a_lock_dies_with_its_process(tmp_path):
    holder = _holder(tmp_path, "p")
    holder.kill()
    holder.communicate(timeout=30)
    with pair_lock(tmp_path, "p"):
        pass
