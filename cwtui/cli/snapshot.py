"""`cwtui snapshot SERVER` and the snapshot `apply --snapshot-first` takes before its first write."""

from __future__ import annotations

import json
from argparse import Namespace
from pathlib import Path

from cwtui.cli.render import ProgressLine
from cwtui.core.errors import EXIT_OK, UsageError
from cwtui.core.models import Plan, User
from cwtui.core.paths import state_dir
from cwtui.core.snapshot import Written
from cwtui.core.snapshot_take import Side, before_writes, choose_users, default_path, take
from cwtui.core.text import safe_text


def _counts(written: Written) -> str:
    return ", ".join(f"{safe_text(name)} {n}" for name, n in written.by_user.items())


async def cmd_snapshot(ctx, args: Namespace) -> int:
    config = ctx.config_file.load()
    entry = config.server(args.server)
    if entry.snapshot:
        raise UsageError(f"server '{entry.name}' is a snapshot file ({entry.snapshot}), not a server",
                         hint="snapshot the server it came from")
    client = ctx.client_factory(entry, config.device_id_for(entry))
    progress = ProgressLine(ctx.err)
    try:
        users = await choose_users(client, entry, args.user, args.all_users)
        path = Path(args.output).expanduser() if args.output else default_path(state_dir(), entry.name)
        written = await take(entry, client, users, path, progress=lambda n, name: progress.show(
            f"snapshot of {entry.name}: {n} items (reading {name})"))
    finally:
        progress.done()
        await client.aclose()
    if args.json:
        ctx.out.write(json.dumps({"path": str(written.path), "server": entry.name, "items": written.items,
                                  "users": [{"id": u.id, "name": u.name, "items": written.by_user[u.name]}
                                            for u in written.users]}) + "\n")
    else:
        ctx.out.write(f"{written.path}\n{written.items} items of {len(written.users)} users ({_counts(written)})\n")
    return EXIT_OK


def snapshot_first(ctx, sync, plan: Plan, run) -> dict[str, str]:
    """Give `run` the hook that snapshots the users it writes into, on each server it writes to (the source too, in
    a two-way run), and say where on stderr.

    Returns:
        A dict that holds `snapshot` and/or `snapshot_source` once they are written (for the final --json line)."""
    names = {plan.destination.user_id: plan.destination.user_name, plan.source.user_id: plan.source.user_name}
    names.update({u.destination.id: u.destination.name for u in plan.users})
    names.update({u.source.id: u.source.name for u in plan.users})
    sides = []
    for key, entry, client, on_source in (("snapshot", sync.destination_entry, sync.destination, False),
                                          ("snapshot_source", sync.source_entry, sync.source, True)):
        written_for = dict.fromkeys(s.user_id or run.user_id for s in run.tasks if bool(s.server) == on_source)
        if written_for:
            sides.append(Side(key, entry, client, [User(uid, names.get(uid, "")) for uid in written_for]))
    taken: dict[str, str] = {}
    if not sides:
        ctx.err.write(f"Note: this run writes nothing to '{plan.destination.name}', so there is no snapshot.\n")
        return taken

    def said(side: Side, written: Written) -> None:
        taken[side.key] = str(written.path)
        ctx.err.write(f"Snapshot of '{side.entry.name}' before writing ({written.items} items, "
                      f"{_counts(written)}): {written.path}\n")

    run.before_writes = before_writes(sides, state_dir(), said)
    return taken
