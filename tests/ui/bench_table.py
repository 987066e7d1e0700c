"""Run by hand: `python tests/ui/bench_table.py [rows]`. Times the diff table on many rows (default 5,000).

Prints first paint (load -> first screen drawn), the time until every chunk is in, a filter change and a sort,
each measured as wall time until the screen has refreshed.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from textual.app import App, ComposeResult  # noqa: E402

from cwtui.core.models import Action, ItemKind, PlanRow, Reason, UserData  # noqa: E402
from cwtui.ui.widgets.plan_table import PlanTable  # noqa: E402

T0 = datetime(2026, 11, 20, 20, 0, tzinfo=UTC)
KINDS = [(Action.UPSERT, Reason.SOURCE_AHEAD), (Action.SKIP, Reason.WITHIN_DELTA), (Action.SKIP, Reason.IN_SYNC),
         (Action.SKIP, Reason.NEAR_COMPLETE), (Action.CLEAR, Reason.EXPLICIT_ZERO), (Action.SKIP, Reason.UNRESOLVED),
         (Action.UPSERT, Reason.DESTINATION_MISSING), (Action.SKIP, Reason.DESTINATION_NEWER)]


def rows(count: int) -> tuple[PlanRow, ...]:
    out = []
    for n in range(count):
        action, reason = KINDS[n % len(KINDS)]
        src = UserData(position_ticks=(n % 90 + 1) * 600_000_000, last_played=T0 - timedelta(minutes=n))
        dst = UserData(position_ticks=(n % 37) * 600_000_000, last_played=T0 - timedelta(hours=n % 50))
        out.append(PlanRow(key=f"{n:032x}", kind=ItemKind.MOVIE, title=f"Movie number {n:05d} ({1950 + n % 70})",
                           action=action, reason=reason, rule="bench", source_item_id=f"{n:032x}",
                           destination_item_ids=(f"{n + 1:032x}",), source=src, destination=dst,
                           runtime_ticks=100 * 600_000_000))
    return tuple(out)


class Bench(App[None]):
    def compose(self) -> ComposeResult:
        yield PlanTable(id="plan")


async def main(count: int) -> None:
    plan_rows = rows(count)
    app = Bench()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(PlanTable)
        await pilot.pause()

        first_chunk_done: list[float] = []
        add_more = table._add_more

        def spy(*args) -> None:  # the first later chunk runs right after the first screen was drawn
            if not first_chunk_done:
                first_chunk_done.append(time.perf_counter())
            add_more(*args)

        table._add_more = spy  # type: ignore[method-assign]

        async def timed(label: str, step) -> None:
            first_chunk_done.clear()
            start = time.perf_counter()
            step()
            await pilot.pause()
            while table.filling:
                await pilot.pause()
            done = time.perf_counter() - start
            first = (first_chunk_done[0] - start) if first_chunk_done else done
            print(f"{label:<34} first screen {first:6.3f} s   all rows in {done:6.3f} s"
                  f"   ({table.row_count} rows shown)")

        ticked = {r.key for r in plan_rows if r.writes}
        await timed("load, default view (will change)", lambda: table.load(plan_rows, ticked, "changes"))
        table.filter_name = "all"
        await timed("filter change -> all", table.rebuild)
        await timed("sort by source position", lambda: table.sort_by("source"))
        await timed("sort by title, reversed", lambda: table.sort_by("title", reverse=True))
        table.search = "number 01"
        await timed("search 'number 01'", table.rebuild)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000))
