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
