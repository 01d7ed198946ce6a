"""Settings: flags over environment over config file over defaults."""

from __future__ import annotations

import pytest

from copyadvisor.config import load_config


def test_late_interaction_is_on_by_default_and_can_be_switched_off(tmp_path):
    assert load_config(environ={}).late_interaction is True
    assert load_config(environ={"COPYADVISOR_LATE_INTERACTION": "off"}).late_interaction is False
    config_file = tmp_path / "copyadvisor.toml"
    config_file.write_text("late_interaction = false\n", encoding="utf-8")
    assert load_config(environ={"COPYADVISOR_CONFIG": str(config_file)}).late_interaction is False
    # a flag wins over the environment
    assert load_config({"late_interaction": "on"}, environ={"COPYADVISOR_LATE_INTERACTION": "off"}).late_interaction is True


def test_a_bad_switch_value_is_a_clear_error():
    with pytest.raises(ValueError, match="late_interaction must be on or off"):
        load_config(environ={"COPYADVISOR_LATE_INTERACTION": "maybe"})


def test_threshold_must_be_a_number():
    assert load_config(environ={"COPYADVISOR_THRESHOLD": "0.8"}).threshold == 0.8
    with pytest.raises(ValueError, match="threshold must be a number"):
        load_config(environ={"COPYADVISOR_THRESHOLD": "high"})


def test_admin_token_is_off_by_default_and_set_by_environment_or_flag():
    assert load_config(environ={}).admin_token == ""
    assert load_config(environ={"COPYADVISOR_ADMIN_TOKEN": "s3cret"}).admin_token == "s3cret"
    config = load_config({"admin_token": "flag"}, environ={"COPYADVISOR_ADMIN_TOKEN": "env"})
    assert config.admin_token == "flag"
    assert "flag" not in repr(config)  # never printed with the settings


def test_serve_takes_an_admin_token_flag():
    from copyadvisor.cli import build_parser, config_from

    args = build_parser().parse_args(["serve", "--admin-token", "t0ken"])
    assert config_from(args).admin_token == "t0ken"
