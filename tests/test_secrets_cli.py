"""Secrets on the command line and in config files others can read: real CLI processes
against fake Last.fm and ListenBrainz servers on 127.0.0.1."""

from __future__ import annotations

import time

from tests import fake_services
from tests.fake_services import FakeLastfm, FakeListenBrainz, make_listens
from tests.helpers import run_cli

fake_server = fake_services.fake_server  # the fixture, under its name in this module

TOKEN = "5ecre7-t0ken-0f-the-user"
API_KEY = "feedfacefeedfacefeedfacefeedface"
NOW = int(time.time())


def _config(tmp_path, text: str, mode: int):
    config = tmp_path / "config.toml"
    config.write_text(text)
    config.chmod(mode)
    return config


def test_listenbrainz_token_is_never_taken_from_the_command_line(cli_env, fake_server, tmp_path):
    result = run_cli(cli_env, "history", "listenbrainz", "rj", "--token", TOKEN)

    assert result.returncode == 2
    assert "--token" in result.stderr


def test_listenbrainz_token_from_the_environment_reaches_the_server_only(
    cli_env, fake_server, tmp_path
):
    app = FakeListenBrainz(make_listens(5, end=NOW - 600), token=TOKEN)
    fake_server.mount(app.path, app)
    config = _config(tmp_path, f'[listenbrainz]\napi_url = "{fake_server.url}"\n', 0o600)
    env = {**cli_env, "MYDISCOVER_CONFIG": str(config), "MYDISCOVER_LISTENBRAINZ_TOKEN": TOKEN}

    result = run_cli(env, "history", "listenbrainz", "rj")

    assert result.returncode == 0, result.stderr
    assert "5 listens added" in result.stderr
    assert {r.headers.get("Authorization") for r in fake_server.requests} == {f"Token {TOKEN}"}
    assert "warning" not in result.stderr


def test_listenbrainz_token_asked_at_a_prompt(cli_env, fake_server, tmp_path):
    app = FakeListenBrainz(make_listens(3, end=NOW - 600), token=TOKEN)
    fake_server.mount(app.path, app)
    config = _config(tmp_path, f'[listenbrainz]\napi_url = "{fake_server.url}"\n', 0o600)
    env = {**cli_env, "MYDISCOVER_CONFIG": str(config)}

    result = run_cli(env, "history", "listenbrainz", "rj", "--ask-token", input=TOKEN + "\n")

    assert result.returncode == 0, result.stderr
    assert "3 listens added" in result.stderr
    assert {r.headers.get("Authorization") for r in fake_server.requests} == {f"Token {TOKEN}"}


def test_a_token_in_a_config_others_can_read_is_warned_about(cli_env, fake_server, tmp_path):
    app = FakeListenBrainz(make_listens(2, end=NOW - 600), token=TOKEN)
    fake_server.mount(app.path, app)
    config = _config(
        tmp_path, f'[listenbrainz]\napi_url = "{fake_server.url}"\ntoken = "{TOKEN}"\n', 0o644
    )

    result = run_cli({**cli_env, "MYDISCOVER_CONFIG": str(config)}, "history", "listenbrainz", "rj")

    assert result.returncode == 0, result.stderr
    assert f"warning: {config} holds a ListenBrainz token and others can read it" in result.stderr


def test_lastfm_key_in_a_config_others_can_read_is_warned_about(cli_env, fake_server, tmp_path):
    app = FakeLastfm(make_listens(3, end=NOW - 60), api_key=API_KEY)
    fake_server.mount(app.path, app)
    text = f'[lastfm]\nuser = "rj"\napi_key = "{API_KEY}"\napi_url = "{fake_server.url}/2.0/"\n'
    readable = _config(tmp_path, text, 0o644)

    warned = run_cli({**cli_env, "MYDISCOVER_CONFIG": str(readable)}, "history", "lastfm")
    readable.chmod(0o600)
    private = run_cli({**cli_env, "MYDISCOVER_CONFIG": str(readable)}, "history", "lastfm")

    assert warned.returncode == 0, warned.stderr
    assert f"{readable} holds a Last.fm API key and others can read it" in warned.stderr
    assert private.returncode == 0 and "warning" not in private.stderr
    assert API_KEY not in warned.stderr + private.stderr


def test_reviews_crawl_warns_about_a_readable_lastfm_key(cli_env, fake_server, tmp_path):
    from tests.fake_web import API_KEY as WEB_KEY
    from tests.fake_web import serve_web

    web = serve_web(fake_server)
    text = (
        f'[lastfm]\napi_key = "{WEB_KEY}"\napi_url = "{web.url}/2.0/"\n'
        f'[reviews]\nwikipedia_api_url = "{web.url}/w/api.php"\nrequest_interval = 0\n'
    )
    config = _config(tmp_path, text, 0o640)
    env = {**cli_env, "MYDISCOVER_CONFIG": str(config)}

    result = run_cli(env, "reviews", "crawl", "--source", "lastfm")

    assert result.returncode == 0, result.stderr
    assert f"{config} holds a Last.fm API key and others can read it" in result.stderr


def test_update_warns_about_a_readable_lastfm_key_too(cli_env, fake_server, tmp_path):
    app = FakeLastfm(make_listens(3, end=NOW - 60), api_key=API_KEY)
    fake_server.mount(app.path, app)
    text = f'[lastfm]\nuser = "rj"\napi_key = "{API_KEY}"\napi_url = "{fake_server.url}/2.0/"\n'
    # Every request stays on the loopback: the reviews step has no library to ask about, and
    # its Wikipedia source is pointed at the fake server all the same.
    text += f'[reviews]\nwikipedia_api_url = "{fake_server.url}/w/api.php"\n'
    readable = _config(tmp_path, text, 0o644)
    env = {**cli_env, "MYDISCOVER_CONFIG": str(readable), "MYDISCOVER_DB": str(tmp_path / "d.db")}
    result = run_cli(env, "update")
    assert f"{readable} holds a Last.fm API key and others can read it" in result.stderr
    assert "Last.fm rj: 3 listens added" in result.stderr and API_KEY not in result.stderr
