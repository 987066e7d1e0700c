"""A Jellyfin look-alike served over real HTTP on loopback, for tests, the demo and the benchmarks.

Knobs a test can turn (see each docstring; jellyfin-api.md is the reference they follow):
- storage, version by version (userdata.py): `EmulatorState.get_user_data` (stored row), `dto_user_data` (what a DTO
  shows, through the cache), `user_data_rows` (every row by key), `reidentify(item_id, provider_ids)` (leaves old-key
  rows behind), `restart()` (empties the DTO caches), `store.cache_size` (10.11.10+ LRU size), `upgrade_to("10.11.x")` (a 10.10
  server's rows migrated as 10.11 does it);
- users: `add_user(..., enable_user_preference_access=False, display_missing_episodes=True)`;
- items: `add_episode(..., virtual=True)`, `add_version(primary_id, name)` (12.0 alternates);
- sessions and playback: `start_session(..., media_source_id=, is_paused=, additional_users=, last_activity=)`,
  `add_user_to_session(session_id, user_id)`, `idle_stop(session_id, advanced_seconds=0)`;
- faults (faults.py): before the handler `fail_next`, `drop_next`, `html_next`, `hang_next`, `fail_matching`; after
  it (the change lands, the answer is lost or bad) `after_next(kind, count, path_regex, method, seconds=)` and
  `wait_after_applied(count)`.
"""

from cwtui.emulator.server import Emulator, Faults, RequestRecord
from cwtui.emulator.state import EmulatorState

__all__ = ["Emulator", "EmulatorState", "Faults", "RequestRecord"]
