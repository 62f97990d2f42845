"""SingleFlight's asyncio flavour at the edge: a caller that arrives in the instant between the
shared call's end and the bookkeeping of its done callback must get its result, not start a
second refresh (a single-use refresh token would then be presented twice)."""

from __future__ import annotations

import asyncio
from typing import Any

from authkeep.integrations.singleflight import SingleFlight


def test_a_caller_arriving_as_the_call_ends_gets_its_result() -> None:
    flight: SingleFlight[str] = SingleFlight(reuse_seconds=10)
    calls: list[int] = []
    late: list[Any] = []

    async def main() -> str:
        loop = asyncio.get_running_loop()

        def late_arrival() -> None:
            # Runs after the call has returned and before its task's done callbacks.
            coroutine = flight.arun("token", refresh)
            try:
                coroutine.send(None)
            except StopIteration as finished:
                late.append(finished.value)
            else:
                late.append("a second call was started")
                coroutine.close()

        async def refresh() -> str:
            calls.append(1)
            if len(calls) == 1:
                loop.call_soon(late_arrival)
            return f"result {len(calls)}"

        first = await flight.arun("token", refresh)
        await asyncio.sleep(0)  # anything the late arrival started gets to run
        return first

    assert asyncio.run(main()) == "result 1"
    assert late == ["result 1"] and calls == [1]
