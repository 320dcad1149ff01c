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


RELEASED = {"slot_held": False}


def test_slots_released_once_each_are_no_problem() -> None:
    records = {"r1": RELEASED, "r2": RELEASED}
    assert slot_release_problems(2, 4, [4, 3, 3, 2, 2], 2, records) == []


def test_a_slot_released_twice_shows_in_the_counter() -> None:
    found = slot_release_problems(0, 1, [0, -1], -1, {"r1": RELEASED})
    assert found == [
        "the counter went negative (-1)",
        "2 slot(s) released for 1 rewound run(s): the counter is -1, not 0",
    ]


def test_one_run_released_twice_and_one_never_is_caught_by_the_record() -> None:
    """The counter alone would look right (two releases for two runs)."""
    records = {"r1": RELEASED, "r2": {"slot_held": True}}
    assert slot_release_problems(0, 2, [1, 0], 0, records) == [
        "run r2: slot_held is True after its STOPPED event"
    ]


def test_a_rewind_that_did_not_take_the_slot_is_a_problem() -> None:
    found = slot_release_problems(0, 0, [0], 0, {"r1": RELEASED})
    assert found == ["the counter was 0 after 1 run(s) were rewound, not 1"]


def test_a_missing_record_is_a_problem() -> None:
    assert slot_release_problems(0, 1, [0], 0, {"r1": None}) == [
        "run r1: slot_held is None after its STOPPED event"
    ]


def test_bad_order_sends_each_event_twice_stopped_first() -> None:
    running, stopped = {"detail": {"lastStatus": "RUNNING"}}, {"detail": {"lastStatus": "STOPPED"}}
    sent = bad_order({"RUNNING": running, "STOPPED": stopped})
    assert [e["detail"]["lastStatus"] for e in sent] == ["STOPPED", "RUNNING"] * 2
