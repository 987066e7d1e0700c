"""The TOML config: loading, validation errors that name file/line/key, comment-keeping saves, file modes, paths."""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from pathlib import Path

import platformdirs
import pytest

from cwtui.core.config import Config, ConfigFile, PairEntry, ServerEntry, default_config_path, state_dir
from cwtui.core.errors import ConfigError
from cwtui.core.models import ProgressSettings

TOKEN = "tok-5e3c9a1f77d04b"

SAMPLE = f'''# cwtui config, edited by hand
device_id = "d3v1ce"

[servers.home]
url = "https://jf.example.org"
user_id = "u-home"        # the user this server entry acts as
user_name = "alice"
token = "{TOKEN}"
# ca_bundle = "/path/ca.pem"   insecure = false

# the cabin box
[servers.cabin]
url = "http://10.0.0.2:8096"
user_id = "u-cabin"
user_name = "alice"
token = "{TOKEN}-2"
insecure = true

[pairs.home-to-cabin]
source = "home"
destination = "cabin"

[pairs.home-to-cabin.features.progress]
enable = true
add = true
remove = false
min_seconds = 60          # keep short blips out
delta_seconds = 30
max_percent = 95
timestamp_tolerance_seconds = 30
respect_server_resume_rules = true
replay_watched = false
libraries = []            # source library names or ids; empty = all
'''


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str) -> int:
    """The 1-based line holding needle (exactly once), so the tests do not hard-code line numbers."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


def attempt_every_save(cf: ConfigFile) -> None:
    """Each edit must refuse (ConfigError) on a file that does not load."""
    server = ServerEntry("new", "https://new.example", "u", "bob", TOKEN)
    edits = [
        cf.ensure_device_id,
        lambda: cf.save_server(server),
        lambda: cf.save_pair(PairEntry("p", "home", "cabin")),
        lambda: cf.remove_server("home"),
        lambda: cf.remove_pair("home-to-cabin"),
    ]
    for edit in edits:
        with pytest.raises(ConfigError):
            edit()


# --- loading ----------------------------------------------------------------------------------------


def test_sample_loads_into_plain_data(tmp_path: Path) -> None:
    cfg = ConfigFile(write(tmp_path, SAMPLE)).load()
    assert cfg.device_id == "d3v1ce"
    assert cfg.concurrency == 4
    assert cfg.server("home") == ServerEntry("home", "https://jf.example.org", "u-home", "alice", TOKEN)
    assert cfg.servers["cabin"].insecure is True
    assert cfg.pair("home-to-cabin") == PairEntry("home-to-cabin", "home", "cabin", ProgressSettings())


def test_missing_file_is_an_empty_config_and_nothing_is_written(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "config.toml"
    cfg = ConfigFile(path).load()
    assert (cfg.device_id, cfg.servers, cfg.pairs, cfg.concurrency) == (None, {}, {}, 4)
    assert not path.parent.exists()


def test_left_out_keys_get_the_defaults(tmp_path: Path) -> None:
    text = ('[servers.a]\nurl = "http://a"\n[servers.b]\nurl = "https://b"\n'
            '[pairs.ab]\nsource = "a"\ndestination = "b"\n')
    cfg = ConfigFile(write(tmp_path, text)).load()
    assert cfg.device_id is None and cfg.concurrency == 4
    assert cfg.servers["a"] == ServerEntry("a", "http://a", "", "", "", ca_bundle=None, insecure=False)
    assert cfg.pairs["ab"].progress == ProgressSettings()
    partial = text + "[pairs.ab.features.progress]\nremove = true\n"
    progress = ConfigFile(write(tmp_path, partial)).load().pairs["ab"].progress
    assert progress == replace(ProgressSettings(), remove=True)


def test_zero_means_zero_not_the_default(tmp_path: Path) -> None:
    zeros = "min_seconds = 0\ndelta_seconds = 0\ntimestamp_tolerance_seconds = 0\nmax_percent = 0\n"
    text = SAMPLE.split("[pairs.home-to-cabin.features.progress]")[0]
    path = write(tmp_path, text + "[pairs.home-to-cabin.features.progress]\n" + zeros)
    progress = ConfigFile(path).load().pairs["home-to-cabin"].progress
    assert (progress.min_seconds, progress.delta_seconds, progress.timestamp_tolerance_seconds) == (0, 0, 0)
    assert progress.max_percent == 0


def test_optional_server_keys_and_concurrency(tmp_path: Path) -> None:
    text = 'concurrency = 32\n[servers.x]\nurl = "https://x"\nca_bundle = "/etc/ca.pem"\ninsecure = false\n'
    cfg = ConfigFile(write(tmp_path, text)).load()
    assert cfg.concurrency == 32
    assert (cfg.servers["x"].ca_bundle, cfg.servers["x"].insecure) == ("/etc/ca.pem", False)


def test_lookup_errors_list_the_names_there_are(tmp_path: Path) -> None:
    path = write(tmp_path, SAMPLE)
    cfg = ConfigFile(path).load()
    with pytest.raises(ConfigError) as err:
        cfg.server("attic")
    assert "no server 'attic'" in str(err.value) and "(have: cabin, home)" in str(err.value)
    assert str(path) in str(err.value)
    with pytest.raises(ConfigError, match=r"no pair 'x'.*\(have: home-to-cabin\)"):
        cfg.pair("x")
    with pytest.raises(ConfigError, match=r"\(have: none\)"):
        Config().server("a")


# --- validation -------------------------------------------------------------------------------------

P = "pairs.home-to-cabin.features.progress"


@pytest.mark.parametrize(
    ("old", "new", "key", "expect"),
    [
        ("min_seconds = 60", "min_second = 60", f"{P}.min_second", "did you mean 'min_seconds'"),
        ("enable = true", 'enable = "true"', f"{P}.enable", "true or false"),
        ("replay_watched = false", "replay_watched = 0", f"{P}.replay_watched", "true or false"),
        ("min_seconds = 60", "min_seconds = -1", f"{P}.min_seconds", ">= 0"),
        ("delta_seconds = 30", "delta_seconds = 1.5", f"{P}.delta_seconds", "whole number"),
        ("timestamp_tolerance_seconds = 30", 'timestamp_tolerance_seconds = "30"',
         f"{P}.timestamp_tolerance_seconds", "whole number"),
        ("max_percent = 95", "max_percent = 100.5", f"{P}.max_percent", "0..100"),
        ("max_percent = 95", "max_percent = nan", f"{P}.max_percent", "0..100"),
        ("max_percent = 95", "max_percent = true", f"{P}.max_percent", "number"),
        ("libraries = []", 'libraries = "Movies"', f"{P}.libraries", "list"),
        ("libraries = []", 'libraries = ["Movies", 3]', f"{P}.libraries", "string"),
        ('url = "https://jf.example.org"', 'url = "ftp://jf.example.org"', "servers.home.url", "http"),
        ('url = "https://jf.example.org"', 'url = "https://"', "servers.home.url", "host"),
        ('url = "https://jf.example.org"', 'url = "jf.example.org"', "servers.home.url", "http"),
        ("insecure = true", 'insecure = "false"', "servers.cabin.insecure", "true or false"),
        ('user_name = "alice"\ntoken', "user_name = 7\ntoken", "servers.home.user_name", "string"),
        ('destination = "cabin"', 'destination = "attic"', "pairs.home-to-cabin.destination", "no server 'attic'"),
        ('source = "home"', 'source = "cabin"', "pairs.home-to-cabin.destination", "same server"),
        ('device_id = "d3v1ce"', "device_id = 5", "device_id", "string"),
        ('device_id = "d3v1ce"', 'device_id = "d3v1ce"\nconcurrency = 0', "concurrency", "1..32"),
        ('device_id = "d3v1ce"', 'device_id = "d3v1ce"\nconcurrency = 33', "concurrency", "1..32"),
        ('device_id = "d3v1ce"', 'device_id = "d3v1ce"\nconcurrency = "4"', "concurrency", "whole number"),
        ('device_id = "d3v1ce"', 'device_id = "d3v1ce"\ncolour = "blue"', "colour", "unknown key"),
        ("[servers.cabin]", '[servers."the cabin"]', 'servers."the cabin"', "bad name"),
        (f"[{P}]", "[pairs.home-to-cabin.features.progres]", "pairs.home-to-cabin.features.progres",
         "did you mean 'progress'"),
        ('[servers.cabin]\nurl = "http://10.0.0.2:8096"\n', "[servers.cabin]\n", "servers.cabin.url", "missing"),
    ],
)
def test_each_bad_value_names_file_line_and_key(tmp_path: Path, old: str, new: str, key: str, expect: str) -> None:
    assert old in SAMPLE
    text = SAMPLE.replace(old, new, 1)
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        ConfigFile(path).load()
    exc = err.value
    assert exc.path == str(path) and exc.key == key
    assert expect in str(exc)
    # the offending key's own line; a missing key is reported at its table header
    last = key.rsplit(".", 1)[-1].strip('"')
    if "missing" in expect:
        needle = "[servers.cabin]"
    elif expect == "same server":  # reported at the second end, which the edit left alone
        needle = 'destination = "cabin"'
    else:
        needle = next(ln for ln in new.splitlines() if last in ln)
    assert exc.line == line_of(text, needle)
    assert f"{path}, line {exc.line}, key '{key}'" in str(exc)
    assert TOKEN not in str(exc)


def test_syntax_errors_carry_the_parser_line(tmp_path: Path) -> None:
    text = SAMPLE.replace("delta_seconds = 30", "delta_seconds == 30")
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        ConfigFile(path).load()
    assert err.value.line == line_of(text, "delta_seconds == 30")
    assert "not valid TOML" in str(err.value) and str(path) in str(err.value)


def test_duplicate_keys_and_bad_utf8_are_config_errors(tmp_path: Path) -> None:
    text = SAMPLE.replace('user_name = "alice"\ntoken', 'user_name = "alice"\nuser_name = "bob"\ntoken', 1)
    with pytest.raises(ConfigError) as err:
        ConfigFile(write(tmp_path, text)).load()
    assert err.value.line == line_of(text, 'user_name = "bob"')
    raw = tmp_path / "latin1.toml"
    raw.write_bytes(b'device_id = "x"\n[servers.a]\nurl = "http://caf\xe9"\n')
    with pytest.raises(ConfigError) as err:
        ConfigFile(raw).load()
    assert err.value.line == 3 and "UTF-8" in str(err.value)


def test_a_directory_in_place_of_the_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "config.toml").mkdir()
    with pytest.raises(ConfigError, match="cannot read"):
        ConfigFile(tmp_path / "config.toml").load()


def test_an_unterminated_token_is_not_echoed(tmp_path: Path) -> None:
    text = SAMPLE.replace(f'token = "{TOKEN}"\n', f'token = "{TOKEN}\n', 1)
    with pytest.raises(ConfigError) as err:
        ConfigFile(write(tmp_path, text)).load()
    assert TOKEN not in str(err.value) and TOKEN not in repr(err.value)


# --- damaged files are never written ----------------------------------------------------------------


@pytest.mark.parametrize(
    "cut_after",
    ['url = "https://jf.ex', "[pairs.home-to", "min_seconds =", "user_na", "[servers.cabin", 'destination = "cab',
     "[pairs.home-to-cabin]\nsource = \"home\"\n", "libraries = ["],
)
def test_truncated_file_raises_and_is_left_byte_for_byte(tmp_path: Path, cut_after: str) -> None:
    data = SAMPLE[: SAMPLE.index(cut_after) + len(cut_after)].encode()
    path = tmp_path / "config.toml"
    path.write_bytes(data)
    cf = ConfigFile(path)
    with pytest.raises(ConfigError) as err:
        cf.load()
    assert err.value.line is not None
    attempt_every_save(cf)
    assert path.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]  # no temp files left behind


@pytest.mark.parametrize(
    ("old", "new"),
    [("min_seconds = 60", "min_second = 60"), ("enable = true", 'enable = "yes"'), ('device_id = "d3v1ce"', "")],
)
def test_bad_types_and_unknown_keys_block_every_save(tmp_path: Path, old: str, new: str) -> None:
    text = SAMPLE.replace(old, new, 1)
    if not new:  # no device_id and a bad value: ensure_device_id must not "repair" the file
        text = text.replace("max_percent = 95", "max_percent = 950")
    path = write(tmp_path, text)
    data = path.read_bytes()
    attempt_every_save(ConfigFile(path))
    assert path.read_bytes() == data


def test_every_prefix_either_loads_or_fails_cleanly(tmp_path: Path) -> None:
    """Cut the sample at every character: a load gives a Config or a ConfigError, and a failed file is kept."""
    path = tmp_path / "config.toml"
    cf = ConfigFile(path)
    failures = 0
    for end in range(len(SAMPLE) + 1):
        data = SAMPLE[:end].encode()
        path.write_bytes(data)
        try:
            cf.load()
        except ConfigError:
            failures += 1
            with pytest.raises(ConfigError):
                cf.save_server(ServerEntry("new", "https://n", "u", "n", TOKEN))
            assert path.read_bytes() == data
    assert failures > len(SAMPLE) // 2


# --- saving -----------------------------------------------------------------------------------------


def comments(text: str) -> list[str]:
    return [line[line.index("#"):] for line in text.splitlines() if "#" in line]


def test_round_trip_keeps_comments_through_every_edit(tmp_path: Path) -> None:
    path = write(tmp_path, SAMPLE)
    cf = ConfigFile(path)
    before = comments(SAMPLE)
    cf.save_server(ServerEntry("attic", "https://attic.example", "u-attic", "carol", "other"))
    cf.save_server(ServerEntry("home", "https://jf.example.org:8920", "u-home", "alice", "new-token"))
    cf.save_pair(PairEntry("cabin-to-attic", "cabin", "attic", replace(ProgressSettings(), min_seconds=0)))
    cf.save_pair(PairEntry("home-to-cabin", "home", "cabin", replace(ProgressSettings(), min_seconds=120)))
    text = path.read_text()
    assert comments(text) == before
    assert 'min_seconds = 120          # keep short blips out' in text
    assert text.index("[servers.attic]") < text.index("[pairs.home-to-cabin]")  # servers stay together
    cfg = cf.load()
    assert cfg.servers["home"].url == "https://jf.example.org:8920" and cfg.servers["home"].token == "new-token"
    assert cfg.pairs["cabin-to-attic"].progress.min_seconds == 0
    assert cfg.pairs["home-to-cabin"].progress.min_seconds == 120
    cf.remove_pair("cabin-to-attic")
    cf.remove_server("attic")
    after = path.read_text()
    assert comments(after) == before
    assert after == SAMPLE.replace("min_seconds = 60", "min_seconds = 120").replace(
        f'token = "{TOKEN}"', 'token = "new-token"').replace('url = "https://jf.example.org"',
                                                             'url = "https://jf.example.org:8920"')


def test_save_into_a_missing_file_creates_a_private_file_in_a_private_dir(tmp_path: Path) -> None:
    path = tmp_path / "cfgdir" / "config.toml"
    cf = ConfigFile(path)
    cf.save_server(ServerEntry("a", "https://a", "u", "n", TOKEN))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert cf.load().servers["a"].token == TOKEN


def test_save_makes_a_world_readable_file_0600(tmp_path: Path) -> None:
    path = write(tmp_path, SAMPLE)
    os.chmod(path, 0o644)
    ConfigFile(path).save_server(ServerEntry("x", "https://x", "u", "n", TOKEN))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


def test_fresh_pair_stays_short_and_hand_written_defaults_stay(tmp_path: Path) -> None:
    head = SAMPLE.split("[pairs.home-to-cabin]")[0]
    path = write(tmp_path, head)
    cf = ConfigFile(path)
    cf.save_pair(PairEntry("hc", "home", "cabin"))
    text = path.read_text()
    assert text == head.rstrip("\n") + '\n\n[pairs.hc]\nsource = "home"\ndestination = "cabin"\n'
    cf.save_pair(PairEntry("hc", "home", "cabin", replace(ProgressSettings(), max_percent=0.0, libraries=("TV",))))
    text = path.read_text()
    assert "[pairs.hc.features.progress]\nmax_percent = 0\nlibraries = [\"TV\"]\n" in text
    assert "min_seconds" not in text
    # back to the defaults: the keys now in the file stay, with the default values
    cf.save_pair(PairEntry("hc", "home", "cabin"))
    text = path.read_text()
    assert "max_percent = 95\nlibraries = []\n" in text and "min_seconds" not in text
    assert cf.load().pairs["hc"].progress == ProgressSettings()


def test_untouched_values_keep_their_spelling(tmp_path: Path) -> None:
    text = SAMPLE.replace("max_percent = 95", "max_percent = 95.0")
    path = write(tmp_path, text)
    ConfigFile(path).save_pair(ConfigFile(path).load().pairs["home-to-cabin"])
    assert path.read_text() == text


def test_server_optional_keys_are_written_and_removed(tmp_path: Path) -> None:
    path = write(tmp_path, SAMPLE)
    cf = ConfigFile(path)
    cf.save_server(ServerEntry("home", "https://jf.example.org", "u-home", "alice", TOKEN, ca_bundle="/ca.pem"))
    assert cf.load().servers["home"].ca_bundle == "/ca.pem"
    cf.save_server(replace(cf.load().servers["cabin"], insecure=False))
    cf.save_server(replace(cf.load().servers["home"], ca_bundle=None))
    text = path.read_text()
    assert "insecure = false" in text and 'ca_bundle = "/ca.pem"' not in text
    assert cf.load().servers["cabin"].insecure is False


def test_saves_refuse_bad_entries_without_writing(tmp_path: Path) -> None:
    path = write(tmp_path, SAMPLE)
    data = path.read_bytes()
    cf = ConfigFile(path)
    bad = [
        lambda: cf.save_server(ServerEntry("bad name", "https://x", "u", "n", TOKEN)),
        lambda: cf.save_server(ServerEntry("x", "x.example", "u", "n", TOKEN)),
        lambda: cf.save_pair(PairEntry("p", "home", "attic")),
        lambda: cf.save_pair(PairEntry("p", "home", "cabin", replace(ProgressSettings(), min_seconds=-5))),
        lambda: cf.remove_server("home"),
        lambda: cf.remove_server("attic"),
        lambda: cf.remove_pair("nope"),
    ]
    for edit in bad:
        with pytest.raises(ConfigError) as err:
            edit()
        assert TOKEN not in str(err.value)
    assert path.read_bytes() == data
    with pytest.raises(ConfigError, match="attic"):
        cf.save_pair(PairEntry("p", "home", "attic"))
    with pytest.raises(ConfigError, match="home-to-cabin"):
        cf.remove_server("home")


def test_device_id_is_generated_once(tmp_path: Path) -> None:
    path = write(tmp_path, SAMPLE.replace('device_id = "d3v1ce"\n', ""))
    cf = ConfigFile(path)
    first = cf.ensure_device_id()
    assert len(first) == 32 and int(first, 16) >= 0
    assert cf.ensure_device_id() == first and cf.load().device_id == first
    assert comments(path.read_text()) == comments(SAMPLE)
    assert ConfigFile(write(tmp_path, SAMPLE, "other.toml")).ensure_device_id() == "d3v1ce"


def test_names_with_dots_are_quoted_on_save(tmp_path: Path) -> None:
    cf = ConfigFile(tmp_path / "config.toml")
    cf.save_server(ServerEntry("jf.home", "https://a", "u", "n", "t"))
    cf.save_server(ServerEntry("jf.cabin", "https://b", "u", "n", "t"))
    cf.save_pair(PairEntry("a.to.b", "jf.home", "jf.cabin"))
    assert '[servers."jf.home"]' in (tmp_path / "config.toml").read_text()
    assert cf.load().pairs["a.to.b"].destination == "jf.cabin"


# --- secrets and paths ------------------------------------------------------------------------------


def test_token_never_shows_in_repr_or_str(tmp_path: Path) -> None:
    cfg = ConfigFile(write(tmp_path, SAMPLE)).load()
    entry = cfg.servers["home"]
    for text in (repr(entry), str(entry), repr(cfg), str(cfg), f"{entry}", f"{cfg!r}"):
        assert TOKEN not in text
    assert "alice" in repr(entry) and "<hidden>" in repr(entry)


def test_config_path_explicit_beats_env_beats_platformdirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CWTUI_CONFIG", raising=False)
    assert default_config_path() == platformdirs.user_config_path("cwtui", appauthor=False) / "config.toml"
    monkeypatch.setenv("CWTUI_CONFIG", str(tmp_path / "env.toml"))
    assert default_config_path() == tmp_path / "env.toml"
    assert default_config_path(tmp_path / "cli.toml") == tmp_path / "cli.toml"
    assert default_config_path(str(tmp_path / "cli.toml")) == tmp_path / "cli.toml"


def test_state_dir_env_and_fallback_are_created_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CWTUI_STATE_DIR", str(tmp_path / "state"))
    assert state_dir() == tmp_path / "state"
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    monkeypatch.delenv("CWTUI_STATE_DIR")
    calls = []

    def fake_state_path(appname: str, appauthor: object = None) -> Path:
        calls.append((appname, appauthor))
        return tmp_path / "platform" / appname

    monkeypatch.setattr(platformdirs, "user_state_path", fake_state_path)
    assert state_dir() == tmp_path / "platform" / "cwtui"
    assert calls == [("cwtui", False)]
    assert stat.S_IMODE((tmp_path / "platform" / "cwtui").stat().st_mode) == 0o700


def test_removing_a_table_keeps_the_comment_above_the_next_header(tmp_path: Path) -> None:
    text = SAMPLE.replace("# the cabin box\n", '[servers.attic]\nurl = "https://a"\n# attic note\n\n# the cabin box\n')
    text += '\n# about the reverse pair\n[pairs.back]\nsource = "cabin"\ndestination = "home"\n'
    path = write(tmp_path, text)
    cf = ConfigFile(path)
    cfg = cf.remove_server("attic")
    assert "attic" not in cfg.servers and set(cfg.servers) == {"home", "cabin"}
    after = path.read_text()
    assert "# attic note" not in after and "# the cabin box\n[servers.cabin]" in after
    cf.remove_pair("home-to-cabin")
    after = path.read_text()
    assert "# keep short blips out" not in after
    assert 'insecure = true\n\n# about the reverse pair\n[pairs.back]\n' in after
    assert set(cf.load().pairs) == {"back"}


def test_saves_return_the_config_as_written(tmp_path: Path) -> None:
    cf = ConfigFile(tmp_path / "config.toml")
    entry = ServerEntry("a", "https://a", "u", "n", TOKEN)
    assert cf.save_server(entry).servers == {"a": entry}
    cfg = cf.save_server(ServerEntry("b", "https://b", "u", "n", TOKEN))
    pair = PairEntry("ab", "a", "b", replace(ProgressSettings(), delta_seconds=0))
    assert cf.save_pair(pair).pairs == {"ab": pair}
    assert cf.remove_pair("ab").pairs == {} and cf.load() == replace(cfg, pairs={})


# --- hostile hands: credentials, ports, modes, failing disks, two savers at once -----------------------


@pytest.mark.parametrize(("url", "expect"), [
    ('"https://alice:hunter2-pw@jf.example.org"', "user name or password"),
    ('"http://jf.example.org:99999"', "port"),
    ('"http://jf.example.org:http"', "port"),
])
def test_a_url_with_credentials_or_a_bad_port_is_refused_without_echoing_it(tmp_path, url, expect) -> None:
    path = write(tmp_path, SAMPLE.replace('"https://jf.example.org"', url))
    with pytest.raises(ConfigError) as caught:
        ConfigFile(path).load()
    text = str(caught.value)
    assert expect in text and "servers.home.url" in text and f"line {line_of(SAMPLE, 'jf.example.org')}" in text
    assert "hunter2-pw" not in text
    with pytest.raises(ConfigError):
        ConfigFile(tmp_path / "other.toml").save_server(ServerEntry("x", url.strip('"'), "u", "n", TOKEN))


def test_a_config_readable_by_others_gets_a_warning_naming_the_file_and_fix(tmp_path) -> None:
    path = write(tmp_path, SAMPLE)
    os.chmod(path, 0o600)
    cf = ConfigFile(path)
    assert cf.permission_warning() is None
    os.chmod(path, 0o644)
    warning = cf.permission_warning()
    assert warning is not None and str(path) in warning and f"chmod 600 {path}" in warning and "0644" in warning
    assert TOKEN not in warning
    tokenless = write(tmp_path, "[servers.x]\nurl = \"https://x\"\n", "tokenless.toml")
    os.chmod(tokenless, 0o644)
    assert ConfigFile(tokenless).permission_warning() is None, "nothing secret in it: no warning"


@pytest.mark.parametrize("errno_name", ["ENOSPC", "EROFS"])
def test_a_save_that_cannot_be_written_is_a_config_error_and_the_file_is_untouched(tmp_path, monkeypatch,
                                                                                  errno_name) -> None:
    import errno

    path = write(tmp_path, SAMPLE)
    before = path.read_bytes()
    code = getattr(errno, errno_name)

    def failing_write(fd, data):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr("cwtui.core.paths.os.write", failing_write)
    with pytest.raises(ConfigError) as caught:
        ConfigFile(path).save_server(ServerEntry("new", "https://new.example", "u", "bob", TOKEN + "-new"))
    assert os.strerror(code) in str(caught.value) and str(path) in str(caught.value)
    assert TOKEN not in str(caught.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"], "no temp file left behind"


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 64 KiB tmpfs (only where this process may mount one: root in a container or a VM)."""
    import shutil
    import subprocess

    mount = tmp_path / "mnt"
    mount.mkdir()
    if shutil.which("mount") is None or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here; the ENOSPC/EROFS cases above are simulated")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_or_read_only_disk_gives_a_config_error(small_tmpfs) -> None:
    import subprocess

    path = write(small_tmpfs, SAMPLE)
    before = path.read_bytes()
    fd = os.open(small_tmpfs / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        for _ in range(100):  # 64 KiB of 1 KiB blocks is enough; bounded either way
            try:
                os.write(fd, b"x" * 1024)
            except OSError:
                break
    finally:
        os.close(fd)
    cf = ConfigFile(path)
    with pytest.raises(ConfigError, match="No space left on device"):
        cf.save_server(ServerEntry("new", "https://new.example", "u", "bob", TOKEN))
    assert path.read_bytes() == before
    (small_tmpfs / "filler").unlink()
    subprocess.run(["mount", "-o", "remount,ro", str(small_tmpfs)], check=True)
    with pytest.raises(ConfigError, match="Read-only file system"):
        cf.save_server(ServerEntry("new", "https://new.example", "u", "bob", TOKEN))
    assert path.read_bytes() == before


SAVER = """
import sys
from cwtui.core import config as config_mod
from cwtui.core.config import ConfigFile, ServerEntry

path, prefix, count, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "pause"
if len(sys.argv) > 5:
    config_mod.LOCK_WAIT = float(sys.argv[5])
if pause:  # stop inside the save, between reading the file and writing it, until told to go on
    real = config_mod.write_private_atomic
    def paused(target, data):
        print("inside", flush=True)
        sys.stdin.readline()
        real(target, data)
    config_mod.write_private_atomic = paused
cf = ConfigFile(path)
cf.ensure_device_id()
for i in range(count):
    cf.save_server(ServerEntry(f"{prefix}{i}", f"https://{prefix}{i}.example", "u", "n", f"tok-{prefix}{i}"))
print("done", flush=True)
"""


def _saver(path, prefix, count, mode="run", lock_wait=None):
    import subprocess
    import sys

    argv = [sys.executable, "-c", SAVER, str(path), prefix, str(count), mode]
    if lock_wait is not None:
        argv.append(str(lock_wait))
    return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_save_in_progress_holds_off_another_process_and_nothing_is_lost(tmp_path) -> None:
    path = tmp_path / "config.toml"
    ConfigFile(path).ensure_device_id()
    first = _saver(path, "a", 1, "pause")
    assert first.stdout.readline() == "inside\n"  # the first process has read the file and is about to write
    second = _saver(path, "b", 1, lock_wait=0.2)
    _, err = second.communicate(timeout=30)
    assert second.returncode != 0 and "stayed locked by another cwtui process" in err, \
        "a second save must not read and write while the first is between its read and its write"
    out, _ = first.communicate("go\n", timeout=30)
    assert first.returncode == 0 and out.endswith("done\n")
    again = _saver(path, "b", 1)
    assert again.communicate(timeout=30)[0] == "done\n"
    assert sorted(ConfigFile(path).load().servers) == ["a0", "b0"]


def test_two_processes_saving_at_once_lose_no_entries(tmp_path) -> None:
    path = tmp_path / "config.toml"
    savers = [_saver(path, prefix, 25) for prefix in ("a", "b")]
    for saver in savers:
        out, err = saver.communicate(timeout=60)
        assert saver.returncode == 0, err
    config = ConfigFile(path).load()
    assert len(config.servers) == 50 and config.device_id
