"""A `snapshot = "PATH"` server entry on the home screen: a read-only file, checked, never "writes ok"."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from cwtui.core.config_model import ServerEntry
from cwtui.core.snapshot_source import SnapshotSource
from cwtui.ui.app import CwtuiApp

from .conftest import settle
from .test_home import row

pytestmark = pytest.mark.anyio

SNAPSHOT = (
    '{"cwtui_snapshot": 1, "server": {"name": "Home", "id": "%s", "version": "10.11.11"}, '
    '"users": [{"id": "%s", "name": "alice"}, {"id": "%s", "name": "bob"}], "taken_at": "2026-11-20T21:00:00Z"}\n'
    '{"cwtui_snapshot_end": 0}\n') % ("a" * 32, "b" * 32, "c" * 32)


async def test_a_snapshot_entry_shows_its_file_and_says_read_only(make_world, tmp_path):
    world = make_world()
    good, cut = tmp_path / "good.jsonl", tmp_path / "cut.jsonl"
    good.write_text(SNAPSHOT)
    cut.write_text(SNAPSHOT.splitlines()[0] + "\n")
    world.config_file.save_server(ServerEntry("saved", "", "", "", "", snapshot=str(good)))
    world.config_file.save_server(ServerEntry("broken", "", "", "", "", snapshot=str(cut)))

    def factory(entry, device_id):
        return SnapshotSource(entry.snapshot) if entry.snapshot else world.client_factory(entry, device_id)

    app = CwtuiApp(world.config_file, world.journal, client_factory=factory)
    app.animation_level = "none"
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        servers = app.screen.query_one("#servers", DataTable)
        assert row(servers, "saved") == ["saved", str(good), "(in the file)",
                                         "✓ snapshot of Home 10.11.11, 2 users, read-only", "file"]
        assert row(servers, "broken")[3].startswith(f"✗ server 'broken': snapshot {str(cut)[:20]}")
