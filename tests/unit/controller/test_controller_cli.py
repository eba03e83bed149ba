"""Unit tests of ``neutrino-controller`` option parsing."""

import pytest

from neutrino.controller.app import DEFAULT_BASE_PATH
from neutrino.controller.cli import parse_args


def test_defaults():
    conf = parse_args([])
    assert (conf.bind_host, conf.port, conf.state_file) == ("127.0.0.1", 8181, None)
    assert conf.base_path == DEFAULT_BASE_PATH and conf.test_api is True


def test_command_line_options(tmp_path):
    state = str(tmp_path / "s.json")
    conf = parse_args(["--bind-host", "0.0.0.0", "--port", "0", "--state-file", state])
    assert (conf.bind_host, conf.port, conf.state_file) == ("0.0.0.0", 0, state)
    assert parse_args(["--notest-api"]).test_api is False


def test_config_file_uses_underscored_names(tmp_path):
    path = tmp_path / "controller.conf"
    path.write_text("[DEFAULT]\nbind_host = 127.0.0.2\nusername = odl\npassword = pw\n")
    conf = parse_args(["--config-file", str(path)])
    assert (conf.bind_host, conf.username, conf.password) == ("127.0.0.2", "odl", "pw")


def test_password_needs_username():
    with pytest.raises(SystemExit):
        parse_args(["--password", "pw"])


def test_bad_port_is_refused():
    with pytest.raises(SystemExit):
        parse_args(["--port", "70000"])
