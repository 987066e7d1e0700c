"""Write an SVG of each screen to screenshots/, from the demo data: `python tests/ui/make_screenshots.py`.

The demo servers run on loopback behind fixed addresses (home.test, cabin.test), times are shown in UTC and the
run id is fixed, so the pictures only change when the UI does.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ["TZ"] = "UTC"
time.tzset()

import itertools  # noqa: E402
from datetime import datetime  # noqa: E402

import cwtui.core.journal as journal  # noqa: E402
from tests.ui.conftest import T0, build_demo_world, settle  # noqa: E402

OUT = ROOT / "screenshots"
WIDE, SMALL = (100, 30), (80, 24)
_ids = itertools.count(1)
journal.new_run_id = lambda: f"20261120T200000Z-demo{next(_ids):02d}"  # type: ignore[assignment]


class _FixedClock(datetime):
    @classmethod
    def now(cls, tz=None):
        return T0 if tz is None else T0.astimezone(tz)


journal.datetime = _FixedClock  # type: ignore[misc]  # run times on the runs screen stay the same


async def shoot(world, name: str, size: tuple[int, int], keys: tuple[str, ...] = (), *, open_pair: bool = True,
                before=None) -> None:
    app = world.app(open_pair=world.pair_name if open_pair else None)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        if before is not None:
            await before(app, pilot)
        for key in keys:
            await pilot.press(key)
            await settle(app, pilot)
        path = OUT / f"{name}.svg"
        app.save_screenshot(path.name, path=str(OUT))
        print(f"wrote {path.relative_to(ROOT)}")


async def login_filled(app, pilot) -> None:
    await pilot.press("s")
    await pilot.pause()
    screen = app.screen
    screen.query_one("#name").value = "cabin-bob"
    screen.query_one("#url").value = "http://cabin.test:8096"
    screen.query_one("#user").value = "bob"
    screen.probe()
    await settle(app, pilot)


async def user_map_shown(app, pilot) -> None:
    """The `family` pair's settings, scrolled to the user-map editor."""
    for key in ("tab", "j", "e"):
        await pilot.press(key)
        await settle(app, pilot)
    app.screen.query_one("#user-2").focus()
    await settle(app, pilot)


async def main() -> None:
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cwtui-shots-") as tmp:
        # each picture gets fresh servers, so an apply in one does not change the next
        shots = [
            ("home", WIDE, (), False, None),
            ("login", WIDE, (), False, login_filled),
            ("pair_settings", WIDE, ("tab", "e"), False, None),
            ("diff", WIDE, (), True, None),
            ("diff_all_80x24", SMALL, ("f", "f", "f", "f"), True, None),
            ("diff_detail", WIDE, ("enter",), True, None),
            ("apply_panel", WIDE, ("a",), True, None),
            ("apply_confirm", WIDE, ("a", "d", "enter"), True, None),
            ("apply_finished", WIDE, ("a", "d", "enter", "y"), True, None),
            ("apply_dry_run_80x24", SMALL, ("a", "enter"), True, None),
            ("runs", (120, 30), ("a", "enter", "escape", "a", "d", "enter", "y", "u", "y", "escape", "escape", "h"),
             True, None),
            ("pair_focus", WIDE, ("tab", "e", "tab", "tab", "tab", "tab"), False, None),
            ("help", WIDE, ("question_mark",), True, None),
        ]
        # the household (issue 12): the demo's `family` pair, alice -> alice and bob -> robert
        household = [
            ("household_diff", WIDE, (), True, None),
            ("household_user_map", WIDE, (), False, user_map_shown),
            ("household_apply_finished", WIDE, ("a", "d", "enter", "y"), True, None),
        ]
        for n, (name, size, keys, open_pair, before) in enumerate(shots + household):
            world = build_demo_world(Path(tmp) / str(n), household=n >= len(shots) or name == "home")
            try:
                await shoot(world, name, size, keys, open_pair=open_pair, before=before)
            finally:
                for emulator in world.emulators:
                    emulator.stop()


if __name__ == "__main__":
    asyncio.run(main())
