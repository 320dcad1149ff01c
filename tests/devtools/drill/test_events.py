"""The events drill's judgement: which record differences and counter readings are failures."""

from __future__ import annotations

from typing import Any

from devtools.drill.events import bad_order, record_mismatches, slot_release_problems

ORDERED: dict[str, Any] = {
    "run_id": "r1",
    "status": "STOPPED",
    "status_rank": 6,
    "exit_code": 0,
    "result": {"ok": True},
    "stopped_at": "2025-01-01T00:00:10.000Z",
    "slot_held": False,
    "updated_at": "2025-01-01T00:00:11.000Z",
    "expires_at": 1,
    "result_read_at": "2025-01-01T00:00:11.000Z",
}


def test_the_same_record_is_no_mismatch_whatever_the_write_times() -> None:
    later = {
        **ORDERED,
        "updated_at": "2025-02-01T00:00:00.000Z",
        "expires_at": 2,
        "result_read_at": "2025-02-01T00:00:00.000Z",
    }
    assert record_mismatches(ORDERED, later, "replay") == []


def test_a_changed_or_missing_or_extra_attribute_is_named() -> None:
    other = {**ORDERED, "status": "RUNNING", "exit_code": None, "reaped_reason": "x"}
    del other["result"]
    found = record_mismatches(ORDERED, other, "STOPPED then RUNNING")
    assert len(found) == 4
    assert found[0] == (
        "run r1: exit_code is None after STOPPED then RUNNING, 0 after one ordered delivery"
    )
    assert [line.split(":")[1].split()[0] for line in found] == [
        "exit_code",
        "reaped_reason",
        "result",
        "status",
    ]


def test_a_slot_released_once_is_no_problem() -> None:
    assert slot_release_problems("r1", 2, 3, [2, 2, 2, 2], {"slot_held": False}) == []


def test_a_slot_released_twice_or_never_or_below_zero_is_a_problem() -> None:
    twice = slot_release_problems("r1", 0, 1, [0, -1], {"slot_held": False})
    assert "the counter went negative (-1)" in twice[0]
    assert "released 2 times, not once" in twice[1]
    never = slot_release_problems("r1", 0, 1, [1, 1], {"slot_held": True})
    assert "released 0 times" in never[0] and "slot_held is True" in never[1]


def test_a_rewind_that_did_not_take_the_slot_is_a_problem() -> None:
    found = slot_release_problems("r1", 0, 0, [0], {"slot_held": False})
    assert found == ["run r1: the counter was 0 after the rewind, not 1"]


def test_a_missing_record_is_a_problem() -> None:
    assert slot_release_problems("r1", 0, 1, [0], None) == [
        "run r1: slot_held is None after its STOPPED event"
    ]


def test_bad_order_sends_each_event_twice_stopped_first() -> None:
    running, stopped = {"detail": {"lastStatus": "RUNNING"}}, {"detail": {"lastStatus": "STOPPED"}}
    sent = bad_order({"RUNNING": running, "STOPPED": stopped})
    assert [e["detail"]["lastStatus"] for e in sent] == ["STOPPED", "RUNNING"] * 2
