from __future__ import annotations

import threading

import pytest

from reportbot.destinations.pacing import ChannelPacer


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_goes_at_once_then_one_message_a_second() -> None:
    clock = FakeClock()
    pacer = ChannelPacer(rate=1.0, burst=3, clock=clock)
    waits = [pacer.reserve("#x") for _ in range(6)]
    assert waits == [0.0, 0.0, 0.0, 1.0, 2.0, 3.0]


def test_channels_are_paced_apart() -> None:
    pacer = ChannelPacer(rate=1.0, burst=1, clock=FakeClock())
    assert [pacer.reserve("#a"), pacer.reserve("#b"), pacer.reserve("#a")] == [0.0, 0.0, 1.0]


def test_tokens_come_back_with_time_up_to_the_burst() -> None:
    clock = FakeClock()
    pacer = ChannelPacer(rate=1.0, burst=2, clock=clock)
    assert [pacer.reserve("#x") for _ in range(3)] == [0.0, 0.0, 1.0]
    clock.now = 100.0
    assert [pacer.reserve("#x") for _ in range(3)] == [0.0, 0.0, 1.0]


@pytest.mark.parametrize("threads", [2, 8])
def test_threads_sharing_a_pacer_get_distinct_slots(threads: int) -> None:
    pacer = ChannelPacer(rate=1.0, burst=1, clock=FakeClock())
    waits: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(5):
            wait = pacer.reserve("#x")
            with lock:
                waits.append(wait)

    workers = [threading.Thread(target=take) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(waits) == [float(n) for n in range(threads * 5)]
