"""Shared pieces of the reliability suite: a varied library on both emulators, write logs, journal/server checks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from cwtui.core.config_model import ServerEntry
from cwtui.core.jellyfin import ClientIdentity, JellyfinClient
from cwtui.core.journal import Intent, Journal, RunRecord, RunWriter
from cwtui.core.models import TICKS_PER_SECOND, UserData

T0 = datetime(2026, 11, 20, 20, 0, tzinfo=timezone.utc)
MIN = 60 * TICKS_PER_SECOND

_WRITE = re.compile(r"/(?:UserItems/([0-9a-fA-F-]{32,36})/UserData|UserPlayedItems/([0-9a-fA-F-]{32,36})"
                    r"|Users/[^/]+/PlayedItems/([0-9a-fA-F-]{32,36}))$")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@dataclass
class Library:
    """Destination item ids (in creation order) and their state before anything ran."""

    destination_ids: list[str]
    before: dict[str, UserData] = field(default_factory=dict)


def varied_library(pair, n: int) -> Library:
    """n movies on both sides, cycling through the cases a real plan has.

    i % 6: 0 destination empty (add); 1 destination behind and older (ahead); 2 destination ahead and older
    (moves back); 3 destination marked played (replay); 4 explicit zero on the source (clear); 5 already in sync.
    """
    ids: list[str] = []
    src, dst = pair.source, pair.destination
    src_lib = src.state.add_library("Movies", "movies")
    dst_lib = dst.state.add_library("Movies", "movies")
    for i in range(n):
        runtime = (90 + i % 30) * MIN
        pids = {"Imdb": f"tt{i + 1:07d}", "Tmdb": str(5000 + i)}
        s_id = src.state.add_movie(src_lib, f"Film {i}", year=1950 + i % 70, runtime_ticks=runtime, provider_ids=pids)
        d_id = dst.state.add_movie(dst_lib, f"Film {i}", year=1950 + i % 70, runtime_ticks=runtime, provider_ids=pids)
        ids.append(d_id)
        pos = runtime * (20 + i % 50) // 100
        case = i % 6
        if case == 4:
            src.state.set_user_data(src.user_id, s_id, played=True, play_count=1, last_played=at(600 + i))
            dst.state.set_user_data(dst.user_id, d_id, position_ticks=pos, last_played=at(i))
            continue
        src.state.set_user_data(src.user_id, s_id, position_ticks=pos, last_played=at(300 + i))
        if case == 1:
            dst.state.set_user_data(dst.user_id, d_id, position_ticks=pos // 2, last_played=at(i))
        elif case == 2:
            dst.state.set_user_data(dst.user_id, d_id, position_ticks=pos + 20 * MIN, play_count=1, last_played=at(i))
        elif case == 3:
            dst.state.set_user_data(dst.user_id, d_id, played=True, play_count=2, last_played=at(i))
        elif case == 5:
            dst.state.set_user_data(dst.user_id, d_id, position_ticks=pos, last_played=at(300 + i))
    return Library(ids, destination_state(pair, ids))


def destination_state(pair, ids) -> dict[str, UserData]:
    d = pair.destination
    return {i: d.state.get_user_data(d.user_id, i) for i in ids}


def write_requests(records) -> list[tuple[int, str, str, int]]:
    """(index in the log, method, item id, status) of every play-state write the server saw."""
    out = []
    for index, r in enumerate(records):
        if r.method in ("POST", "DELETE") and (m := _WRITE.search(r.path)):
            out.append((index, r.method, (m.group(1) or m.group(2) or m.group(3)).replace("-", "").lower(),
                        r.status))
    return out


class WatchedJournal(Journal):
    """A journal that notes how many requests the destination had seen when each intent reached the disk."""

    def __init__(self, state_dir, emulator) -> None:
        super().__init__(state_dir)
        self.emulator = emulator
        self.intent_marks: dict[str, dict[tuple[int, str], int]] = {}

    def start(self, kind, pair, destination, *, undo_of=None) -> RunWriter:
        writer = super().start(kind, pair, destination, undo_of=undo_of)
        marks = self.intent_marks.setdefault(writer.run_id, {})
        original = writer.intents

        def intents(items: list[Intent]) -> None:
            original(items)  # on disk (fsynced) before we look at the log
            seen = self.emulator.request_count
            for i in items:
                marks.setdefault((i.seq, i.item_id), seen)

        writer.intents = intents  # type: ignore[method-assign]
        return writer


def fast_client_factory(entry: ServerEntry, device_id: str) -> JellyfinClient:
    """Short timeout and retry delay, so hangs and drops cost milliseconds."""
    return JellyfinClient(entry.url, ClientIdentity(device_id=device_id, device_name="tests"), token=entry.token,
                          user_id=entry.user_id, timeout=0.5, retry_delay=0.01)


def intents_by_item(record: RunRecord) -> dict[str, list[Intent]]:
    out: dict[str, list[Intent]] = {}
    for intent in record.intents:
        out.setdefault(intent.item_id, []).append(intent)
    return out


def holds_target(now: UserData, intent: Intent) -> bool:
    """Does the item hold what the intent meant to write (position, and last-played when one was sent)?"""
    target = intent.target
    if now.position_ticks != target.position_ticks:
        return False
    if target.last_played:
        want = target.last_played
        return now.last_played is not None and abs((now.last_played - want).total_seconds()) < 1
    return True


def check_run_agrees(record: RunRecord, results, before: dict[str, UserData], now: dict[str, UserData],
                     requests, marks: dict[tuple[int, str], int], *, first_request: int = 0) -> list[str]:
    """Every way the journal, the reported results and the server could disagree, as readable problems."""
    problems: list[str] = []
    journaled = {(r.key, r.item_id): r for r in record.results}
    for r in results:
        entry = journaled.get((r.key, r.destination_item_id))
        if entry is None:
            problems.append(f"{r.title}: reported {r.status.value} but not in the journal")
        elif (entry.status, entry.reason) != (r.status.value, r.reason.value):
            problems.append(f"{r.title}: reported {r.status.value}/{r.reason.value}, journal says "
                            f"{entry.status}/{entry.reason}")
    by_item = intents_by_item(record)
    for item_id, was in before.items():
        is_ = now[item_id]
        intents = by_item.get(item_id, [])
        if not intents:
            if is_ != was:
                problems.append(f"{item_id}: changed with no intent in the journal ({was} -> {is_})")
            continue
        intent = intents[-1]
        if intent.prior != was:
            problems.append(f"{item_id}: journaled prior {intent.prior} is not what it was ({was})")
        outcome = intent.outcome
        if outcome is not None and outcome.status == "applied" and not holds_target(is_, intent):
            problems.append(f"{item_id}: journal says applied but the server holds {is_}")
        if outcome is not None and not outcome.maybe_written and is_ != was:
            problems.append(f"{item_id}: journal says not written but it changed ({was} -> {is_})")
        if (outcome is None or outcome.maybe_written) and is_ != was and not holds_target(is_, intent) \
                and not intent.target.unplay_first:
            problems.append(f"{item_id}: neither its prior state nor the target: {is_}")
    intent_mark = {item: mark for (seq, item), mark in marks.items()}
    for index, method, item_id, status in write_requests(requests):
        if index < first_request:
            continue
        mark = intent_mark.get(item_id)
        if mark is None:
            problems.append(f"{method} write of {item_id} (status {status}) with no journaled intent")
        elif index < mark:
            problems.append(f"{method} write of {item_id} reached the server before its intent was on disk")
    return problems
