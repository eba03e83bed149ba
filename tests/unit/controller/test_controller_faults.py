"""Unit tests of the reference controller's fault settings."""

import pytest

from neutrino.controller import errors
from neutrino.controller.faults import FaultInjector


def _outcomes(faults: FaultInjector, n: int, method: str = "POST") -> list[int | None]:
    return [faults.error_for(method) for _ in range(n)]


def test_healthy_by_default():
    faults = FaultInjector()
    assert _outcomes(faults, 5) == [None] * 5
    assert faults.to_dict()["down"] is False


def test_error_rate_without_seed_is_a_counter():
    faults = FaultInjector()
    faults.update(error_rate=0.5)
    assert _outcomes(faults, 6) == [None, 500, None, 500, None, 500]
    faults.update(error_rate=0.25, error_status=503)
    assert _outcomes(faults, 8) == [None, None, None, 503] * 2
    assert faults.to_dict()["injected"] == 5


def test_error_rate_one_fails_everything():
    faults = FaultInjector()
    faults.update(error_rate=1.0)
    assert _outcomes(faults, 3) == [500, 500, 500]


def test_seeded_error_rate_is_reproducible():
    faults = FaultInjector()
    faults.update(error_rate=0.3, seed=42)
    first = _outcomes(faults, 50)
    faults.update(seed=42)
    assert _outcomes(faults, 50) == first
    assert 0 < first.count(500) < 50


def test_fail_next_then_recover():
    faults = FaultInjector()
    faults.update(fail_next=2)
    assert _outcomes(faults, 4) == [500, 500, None, None]
    assert faults.settings.fail_next == 0


def test_error_methods_restrict_failures():
    faults = FaultInjector()
    faults.update(error_rate=1.0, error_methods=["post"])
    assert faults.error_for("GET") is None
    assert faults.error_for("POST") == 500
    assert faults.to_dict()["error_methods"] == ["POST"]


def test_reset_clears_everything():
    faults = FaultInjector()
    faults.update(down=True, delay=1.5, error_rate=1.0)
    faults.reset()
    assert faults.settings.down is False and faults.settings.delay == 0.0
    assert faults.error_for("POST") is None


def test_get_output_can_be_put_back():
    faults = FaultInjector()
    faults.update(**{**faults.to_dict(), "down": True})
    assert faults.settings.down is True


@pytest.mark.parametrize(
    "changes",
    [
        {"nonsense": 1},
        {"error_rate": 1.5},
        {"error_rate": "lots"},
        {"delay": -1},
        {"down": "yes"},
        {"error_status": 200},
        {"error_methods": "POST"},
    ],
)
def test_bad_settings_are_refused_and_not_applied(changes):
    faults = FaultInjector()
    with pytest.raises(errors.BadRequest):
        faults.update(**changes)
    assert faults.settings == FaultInjector().settings
