"""Bad input: damaged config files give exit 2 naming the file and stay byte-for-byte unchanged; strange server
answers (missing fields, wrong types, odd ticks and dates, markup and control characters) never crash plan or apply."""

from __future__ import annotations

import asyncio
import io
import json
import sys

import httpx
import pytest

from cwtui.cli import main
from cwtui.cli.commands import Context, cmd_apply, cmd_plan
from cwtui.cli.parser import build_parser
from cwtui.core.config import ConfigFile
from cwtui.core.errors import ConfigError, CwtuiError
from cwtui.core.jellyfin import ClientIdentity, JellyfinClient

from .helpers import MIN, at, varied_library

# --- damaged config files ------------------------------------------------------------------------------

DAMAGE = {
    **{f"truncated at {f:.0%}": (lambda text, f=f: text[: int(len(text) * f)]) for f in
       (0.05, 0.17, 0.33, 0.41, 0.5, 0.63, 0.77, 0.9, 0.97)},
    "token is a number": lambda text: text.replace('token = "', "token = 12 #", 1),
    "url is a list": lambda text: text.replace('url = "', 'url = ["x"] #', 1),
    "min_seconds is text": lambda text: text + '\n[pairs.home-to-cabin.features.progress]\nmin_seconds = "1m"\n',
    "max_percent out of range": lambda text: text.replace("[pairs.home-to-cabin]",
                                                          "[pairs.home-to-cabin]\nfeatures.progress.max_percent = 250",
                                                          1),
    "unknown top-level key": lambda text: "colour = \"red\"\n" + text,
    "unknown server key": lambda text: text.replace("[servers.home]", "[servers.home]\ntokn = \"x\"", 1),
    "binary garbage": lambda text: text[:40] + "\x00\x01\x02\ufffd" + text[40:],
    "duplicate table": lambda text: text + "\n[servers.home]\nurl = \"http://x\"\n",
}
COMMANDS = (["servers"], ["pairs"], ["plan", "home-to-cabin"], ["apply", "home-to-cabin", "--yes"],
            ["login", "new", "--url", "http://127.0.0.1:9", "--user", "alice", "--password-stdin"])


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_config_exit_2_names_the_file_and_is_left_alone(make_pair, capsys, monkeypatch, damage):
    pair = make_pair()
    path = pair.config_file.path
    path.write_bytes(DAMAGE[damage](path.read_text()).encode("utf-8", "surrogateescape"))
    original = path.read_bytes()
    try:
        ConfigFile(path).load()
        broken = False
    except ConfigError:
        broken = True
    for argv in COMMANDS:
        monkeypatch.setattr(sys, "stdin", io.StringIO("pw\n"))
        code = main(argv)
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        if broken:
            assert code == 2, (damage, argv, err)
            assert str(path) in err, (damage, argv, err)
        else:  # a cut that happens to leave a valid (shorter) config
            assert code in (0, 2, 3), (damage, argv, err)
        assert path.read_bytes() == original, f"{damage}: `cwtui {' '.join(argv)}` changed the config"
    assert broken or damage.startswith("truncated"), f"{damage} should not load"


# --- strange server answers ----------------------------------------------------------------------------


class Rewriting(httpx.AsyncBaseTransport):
    """Real HTTP to the emulator, with every item of a JSON answer passed through `mutate` on the way back."""

    def __init__(self, mutate) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.mutate = mutate

    async def handle_async_request(self, request):
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        await response.aclose()
        if "json" in response.headers.get("content-type", "") and body:
            data = json.loads(body)
            items = data.get("Items") if isinstance(data, dict) else None
            for item in items if isinstance(items, list) else ([data] if isinstance(data, dict) else []):
                if isinstance(item, dict) and item.get("Type") in ("Movie", "Episode"):
                    self.mutate(item)
            body = json.dumps(data).encode()
        headers = [(k, v) for k, v in response.headers.items() if k.lower() not in ("content-length",
                                                                                  "content-encoding")]
        return httpx.Response(response.status_code, headers=headers, content=body)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _ud(item):
    return item.setdefault("UserData", {})


WEIRD = {
    "no UserData": lambda i: i.pop("UserData", None),
    "UserData is a list": lambda i: i.__setitem__("UserData", [1, 2]),
    "ticks as text": lambda i: _ud(i).__setitem__("PlaybackPositionTicks", "lots"),
    "negative ticks": lambda i: _ud(i).__setitem__("PlaybackPositionTicks", -5 * MIN),
    "huge ticks": lambda i: _ud(i).__setitem__("PlaybackPositionTicks", 10**30),
    "float ticks": lambda i: _ud(i).__setitem__("PlaybackPositionTicks", 1.5e10),
    "negative runtime": lambda i: i.__setitem__("RunTimeTicks", -1),
    "huge runtime": lambda i: i.__setitem__("RunTimeTicks", 2**70),
    "runtime as text": lambda i: i.__setitem__("RunTimeTicks", "90 min"),
    "zone-less date": lambda i: _ud(i).__setitem__("LastPlayedDate", "2026-11-20T21:00:00"),
    "non-UTC date": lambda i: _ud(i).__setitem__("LastPlayedDate", "2026-11-20T23:00:00.1234567+02:00"),
    "garbage date": lambda i: _ud(i).__setitem__("LastPlayedDate", "yesterday"),
    "date as number": lambda i: _ud(i).__setitem__("LastPlayedDate", 1_700_000_000),
    "year 9999 with an offset": lambda i: _ud(i).__setitem__("LastPlayedDate", "9999-12-31T23:59:59-05:00"),
    "year 1 with an offset": lambda i: _ud(i).__setitem__("LastPlayedDate", "0001-01-01T00:00:00+14:00"),
    "id that leaves the route": lambda i: i.__setitem__("Id", "../../Users"),
    "played as text": lambda i: _ud(i).__setitem__("Played", "maybe"),
    "markup and control characters in the title": lambda i: i.__setitem__(
        "Name", "[bold red]X[/] \x1b[31mred\x1b[0m \x07bell\r\nnext line\u202eevil"),
    "name missing": lambda i: i.pop("Name", None),
    "name is a number": lambda i: i.__setitem__("Name", 42),
    "provider ids are a list": lambda i: i.__setitem__("ProviderIds", ["tt1"]),
    "no Id": lambda i: i.pop("Id", None),
    "year as text": lambda i: i.__setitem__("ProductionYear", "nineteen"),
}


@pytest.mark.parametrize("weird", list(WEIRD))
@pytest.mark.parametrize("side", ["source", "destination", "both"])
def test_strange_server_answers_end_as_reported_items(make_pair, weird, side):
    pair = make_pair(min_seconds=0, remove=True)
    lib = varied_library(pair, 12)
    src = pair.source
    extra = src.state.add_movie(src.state.libraries[0], "Odd", runtime_ticks=100 * MIN, provider_ids={"Imdb": "tt9"})
    src.state.set_user_data(src.user_id, extra, position_ticks=10 * MIN, last_played=at(5))
    urls = {"source": {src.url}, "destination": {pair.destination.url}, "both": {src.url, pair.destination.url}}[side]
    mutate = WEIRD[weird]

    class SideRewriting(Rewriting):
        async def handle_async_request(self, request):
            if f"{request.url.scheme}://{request.url.host}:{request.url.port}" in urls:
                return await super().handle_async_request(request)
            return await self.inner.handle_async_request(request)

    code, out, err = _cli_side(pair, ["plan", pair.pair_name, "--json"], mutate, SideRewriting)
    assert code in (0, 3), (weird, side, err)
    if code == 0:
        plan = json.loads(out)
        assert plan["rows"] or plan["notices"], "a plan with neither rows nor a word about the dropped items"
        for row in plan["rows"]:
            assert isinstance(row["title"], str) and row["action"] in ("upsert", "clear", "skip")
            assert row["source_ms"] is None or row["action"] != "upsert" or row["source_ms"] >= 0
    code, out, err = _cli_side(pair, ["apply", pair.pair_name, "--yes", "--json"], mutate, SideRewriting)
    assert code in (0, 1, 3), (weird, side, err)
    for line in out.splitlines():
        entry = json.loads(line)
        if "status" in entry:
            assert entry["status"] in ("applied", "skipped", "failed", "unresolved")
    d = pair.destination
    for item_id in lib.destination_ids:  # nothing written is ever negative or beyond the runtime
        ud = d.state.get_user_data(d.user_id, item_id)
        assert 0 <= ud.position_ticks <= (d.state.items[item_id].runtime_ticks or 0)


def _cli_side(pair, argv, mutate, transport_cls):
    def factory(entry, device_id):
        return JellyfinClient(entry.url, ClientIdentity(device_id, "tests"), token=entry.token,
                              user_id=entry.user_id, transport=transport_cls(mutate), retry_delay=0.01)

    out, err = io.StringIO(), io.StringIO()
    ctx = Context(pair.config_file, pair.journal, out=out, err=err, stdin=io.StringIO(), client_factory=factory)
    args = build_parser().parse_args(argv)
    try:
        code = asyncio.run((cmd_plan if argv[0] == "plan" else cmd_apply)(ctx, args))
    except CwtuiError as exc:  # what main() does with a whole-run failure
        code = exc.exit_code
        err.write(f"cwtui: {exc}\n")
    return code, out.getvalue(), err.getvalue()
