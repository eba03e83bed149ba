"""Backoff, waking, the retry rule, idempotent sends and the recovery table."""

import threading

import pytest

from neutrino.journal.claims import Claimed, next_state_after_error
from neutrino.journal.recovery import Action, action_for
from neutrino.journal.worker import Backoff, Waker, send


def test_backoff_doubles_from_a_tenth_to_a_minute_and_resets():
    backoff = Backoff()
    delays = []
    for _ in range(12):
        backoff.failure(now=0.0)
        delays.append(backoff.delay)
    assert delays[:4] == [0.1, 0.2, 0.4, 0.8]
    assert delays[-1] == 60.0
    backoff.success()
    assert backoff.permit(now=0.0) == 0.0 and not backoff.active


def test_backoff_lets_one_probe_through_at_a_time():
    backoff = Backoff()
    backoff.failure(now=10.0)
    assert backoff.permit(now=10.05) == pytest.approx(0.05)
    assert backoff.permit(now=10.2) == 0.0          # the probe
    assert backoff.permit(now=10.2) > 0             # everyone else waits for it
    backoff.idle()
    assert backoff.permit(now=10.3) == 0.0


def test_waker_wake_between_claim_and_wait_is_not_lost():
    waker = Waker()
    seen = waker.generation
    waker.wake()
    assert waker.wait(seen, timeout=5)


def test_waker_wakes_a_waiting_thread():
    waker = Waker()
    woken = []
    t = threading.Thread(target=lambda: woken.append(waker.wait(waker.generation, 10)))
    t.start()
    while not t.is_alive():
        pass
    waker.wake()
    t.join(10)
    assert woken == [True]


@pytest.mark.parametrize("count,expected", [(0, ("pending", 1)), (4, ("pending", 5)),
                                            (5, ("failed", 6))])
def test_a_row_fails_after_retry_count_retries(count, expected):
    assert next_state_after_error(count, 5) == expected


@pytest.mark.parametrize("op,there,action", [
    ("create", True, Action.COMPLETE), ("delete", True, Action.RETRY),
    ("update", True, Action.RECORD_UPDATE), ("delete", False, Action.COMPLETE),
    ("create", False, Action.RECORD_CREATE), ("update", False, Action.RECORD_CREATE)])
def test_recovery_decision_table(op, there, action):
    assert action_for(op, there) is action


def _claimed(op, data):
    return Claimed(1, "network", data["id"], op, data, 0, 1)


def test_send_replays_converge(client, controller):
    net = {"id": "n1", "name": "a"}
    send(client, _claimed("create", net))
    send(client, _claimed("create", {"id": "n1", "name": "b"}))   # replayed create
    assert controller.store.get("network", "n1")["name"] == "b"
    controller.store.wipe()
    send(client, _claimed("update", {"id": "n1", "name": "c"}))   # update of a lost one
    assert controller.store.get("network", "n1")["name"] == "c"
    send(client, _claimed("delete", net))
    send(client, _claimed("delete", net))                          # replayed delete
    assert controller.store.counts()["network"] == 0


def test_send_reports_a_missing_dependency(client):
    from neutrino.journal.client import ControllerError
    with pytest.raises(ControllerError):
        send(client, Claimed(1, "subnet", "s1", "create",
                             {"id": "s1", "network_id": "nope"}, 0, 1))


def _sleepers(waker, n):
    threads = [threading.Thread(target=waker.wait, args=(0, 30)) for _ in range(n)]
    for t in threads:
        t.start()
    while len(waker._cond._waiters) < n:            # every thread is waiting
        pass
    return threads


def test_a_wake_wakes_one_waiting_worker_and_wake_all_every_one():
    waker = Waker()
    threads = _sleepers(waker, 3)
    waker.wake()
    assert len(waker._cond._waiters) == 2           # the others sleep on
    waker.wake_all()
    assert len(waker._cond._waiters) == 0
    for t in threads:
        t.join()
