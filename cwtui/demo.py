"""`cwtui demo`: two emulated Jellyfin servers with the demo data set and a throwaway config pointing at them."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cwtui.core.config import ConfigFile
from cwtui.core.config_model import PairEntry, ServerEntry, UserLink
from cwtui.core.models import ProgressSettings
from cwtui.emulator import Emulator
from cwtui.emulator.demo import Demo, build_demo

PAIR_NAME = "home-to-cabin"
RESTRICTED_PAIR_NAME = "home-to-cabin-kid"
"""alice's source positions to "kid" on the destination, a user who may not edit user data (a 403 on writes)."""
FAMILY_PAIR_NAME = "family"
"""The household (issue 12): alice -> alice and bob -> robert, home -> cabin, through API-key entries."""
SHARE_PAIR_NAME = "share"
"""One server: alice's positions shared with carol on home, through one API-key entry used on both sides."""
FAMILY_USERS = (UserLink("alice", "alice"), UserLink("bob", "robert"))
SHARE_USERS = (UserLink("alice", "carol"),)


@dataclass
class DemoHandle:
    """What a demo started; `stop()` shuts the servers down and deletes the throwaway folder."""

    workdir: Path
    config_path: Path
    state_dir: Path
    pair_name: str
    restricted_pair_name: str
    source_url: str
    destination_url: str
    user_name: str
    demo: Demo
    emulators: list[Emulator] = field(default_factory=list)
    owns_workdir: bool = True

    def stop(self) -> None:
        for emulator in self.emulators:
            emulator.stop()
        self.emulators.clear()
        if self.owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def start_demo(workdir: Path | None = None, *, port: int = 0) -> DemoHandle:
    """Start both servers (source 10.11, destination 10.10) and write a config with servers home, cabin, cabin-kid,
    home-key and cabin-key, and four pairs.

    The main pair has `remove = true`, so the demo shows a clear as well as upserts; everything else is default. The
    second pair (RESTRICTED_PAIR_NAME) targets the destination's restricted user "kid". The household pairs
    (FAMILY_PAIR_NAME, SHARE_PAIR_NAME) use the API-key entries, which have no user of their own.
    """
    owns = workdir is None
    workdir = Path(workdir or tempfile.mkdtemp(prefix="cwtui-demo-"))
    demo = build_demo()
    source = Emulator(demo.source, port=port).start()
    destination = Emulator(demo.destination, port=port + 1 if port else 0).start()
    handle = DemoHandle(workdir, workdir / "config.toml", workdir / "state", PAIR_NAME, RESTRICTED_PAIR_NAME, source.url,
                        destination.url, demo.user_name, demo, [source, destination], owns)
    try:
        cf = ConfigFile(handle.config_path)
        device_id = cf.ensure_device_id()
        for name, state, emulator in (("home", demo.source, source), ("cabin", demo.destination, destination)):
            user = state.user_by_name(demo.user_name)
            token = state.issue_token(user.id, device_id=device_id)
            cf.save_server(ServerEntry(name, emulator.url, user.id, demo.user_name, token))
        kid = demo.destination.users[demo.restricted_user_id]
        kid_token = demo.destination.issue_token(kid.id, device_id=device_id)
        cf.save_server(ServerEntry("cabin-kid", destination.url, kid.id, kid.name, kid_token))
        cf.save_pair(PairEntry(PAIR_NAME, "home", "cabin", ProgressSettings(remove=True)))
        cf.save_pair(PairEntry(RESTRICTED_PAIR_NAME, "home", "cabin-kid"))
        save_household(cf, source.url, destination.url, demo)
    except BaseException:
        handle.stop()
        raise
    return handle


def save_household(cf: ConfigFile, source_url: str, destination_url: str, demo: Demo) -> None:
    """The household's API-key entries and its two pairs (family: two servers; share: one server)."""
    cf.save_server(ServerEntry("home-key", source_url, "", "", demo.source_api_key, api_key=True))
    cf.save_server(ServerEntry("cabin-key", destination_url, "", "", demo.destination_api_key, api_key=True))
    cf.save_pair(PairEntry(FAMILY_PAIR_NAME, "home-key", "cabin-key", users=FAMILY_USERS))
    cf.save_pair(PairEntry(SHARE_PAIR_NAME, "home-key", "home-key", users=SHARE_USERS))
