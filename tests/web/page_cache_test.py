"""The dashboard's page cache: one render per store generation and max age, shared by concurrent readers; and, on a
real daemon, a write by another process shows at once while each reader keeps its own CSRF value."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from deploywatch.web.cache import PLACEHOLDER, PageCache
from testing.daemon import Daemon
from testing.dashboard import Dashboard, cli, cli_json, origin, signed_in

T0 = datetime(2026, 9, 21, 14, 0, tzinfo=UTC)


class World:
    """A generation and a clock the test moves, and a page that counts its renders."""

    def __init__(self) -> None:
        self.generation = 0
        self.now = T0
        self.renders = 0
        self.gate = threading.Event()
        self.gate.set()

    def render(self, body: bytes | None = b"page") -> Callable[[], bytes | None]:
        def run() -> bytes | None:
            self.gate.wait(10)
            self.renders += 1
            return None if body is None else body + b"#%d" % self.renders

        return run

    def cache(self, **kwargs: float) -> PageCache:
        return PageCache(lambda: self.generation, lambda: self.now, **kwargs)  # type: ignore[arg-type]


def test_a_page_is_rendered_once_until_the_store_changes_or_it_ages() -> None:
    world = World()
    cache = world.cache(max_age=10)

    async def scenario() -> list[bytes | None]:
        seen = [await cache.page("/", world.render()), await cache.page("/", world.render())]
        world.now += timedelta(seconds=9)
        seen.append(await cache.page("/", world.render()))
        world.generation += 1  # any write by any process
        seen.append(await cache.page("/", world.render()))
        world.now += timedelta(seconds=11)  # older than max_age: served once more while it renders again
        world.gate.clear()
        seen.append(await cache.page("/", world.render()))
        world.gate.set()
        while cache.renders < 3:
            await asyncio.sleep(0.01)
        seen.append(await cache.page("/", world.render()))  # the background render's page
        world.now += timedelta(seconds=21)  # older than twice max_age: the reader waits for the new render
        seen.append(await cache.page("/", world.render()))
        world.now -= timedelta(hours=1)  # a clock set back never makes an entry fresh for longer
        seen.append(await cache.page("/", world.render()))
        return seen

    assert asyncio.run(scenario()) == [b"page#1", b"page#1", b"page#1", b"page#2", b"page#2", b"page#3", b"page#4",
                                       b"page#5"]
    assert world.renders == cache.renders == 5


def test_concurrent_readers_share_one_render_and_each_gets_its_body() -> None:
    world = World()
    cache = world.cache()
    world.gate.clear()

    async def scenario() -> list[bytes | None]:
        readers = [asyncio.ensure_future(cache.page("/", world.render())) for _ in range(20)]
        await asyncio.sleep(0.05)
        readers[0].cancel()  # a reader that leaves does not cancel the render for the others
        world.gate.set()
        return await asyncio.gather(*readers[1:])

    assert asyncio.run(scenario()) == [b"page#1"] * 19
    assert world.renders == 1


def test_a_missing_page_is_remembered_and_a_failed_render_is_not() -> None:
    world = World()
    cache = world.cache()

    def broken() -> bytes:
        world.renders += 1
        raise RuntimeError("store went away")

    async def scenario() -> None:
        assert await cache.page("/services/nope", world.render(None)) is None
        assert await cache.page("/services/nope", world.render(None)) is None
        assert world.renders == 1
        for _ in range(2):
            with pytest.raises(RuntimeError, match="store went away"):
                await cache.page("/checks/x", broken)
        assert world.renders == 3
        assert await cache.page("/checks/x", world.render()) == b"page#4"

    asyncio.run(scenario())


def test_the_oldest_pages_are_dropped_beyond_the_size_and_max_age_0_turns_caching_off() -> None:
    world = World()
    small = world.cache(size=2)
    off = world.cache(max_age=0)

    async def scenario() -> None:
        for key in ("a", "b", "a", "c", "a", "b"):
            await small.page(key, world.render())
        assert small.renders == 4  # a, b, c, then b again (dropped when c came: a was read after it)
        for _ in range(3):
            await off.page("a", world.render())

    asyncio.run(scenario())
    assert world.renders == 7


def test_a_store_that_does_not_answer_never_stalls_the_event_loop() -> None:
    world = World()
    answer = threading.Event()

    def slow_generation() -> int:
        answer.wait(10)  # a store that hangs (PostgreSQL unreachable: up to the store's timeout)
        return world.generation

    cache = PageCache(slow_generation, lambda: world.now)

    async def scenario() -> tuple[bool, bytes | None]:
        reader = asyncio.ensure_future(cache.page("/", world.render()))
        await asyncio.sleep(0.05)  # the loop runs other requests (the health check, the API) meanwhile
        still_waiting = not reader.done()
        answer.set()
        return still_waiting, await reader

    assert asyncio.run(scenario()) == (True, b"page#1")


def test_readers_share_one_generation_read_that_began_after_they_asked() -> None:
    world = World()
    reads: list[int] = []
    gate = threading.Event()

    def generation() -> int:
        seen = world.generation  # what the store said when the read began
        reads.append(seen)
        gate.wait(10)
        return seen

    cache = PageCache(generation, lambda: world.now)

    async def scenario() -> list[bytes | None]:
        first = asyncio.ensure_future(cache.page("/", world.render()))
        await asyncio.sleep(0.05)  # the first read is under way (waiting at the gate)
        world.generation += 1  # a write commits while it runs: who asks now must see it
        later = [asyncio.ensure_future(cache.page("/", world.render())) for _ in range(10)]
        await asyncio.sleep(0.05)
        gate.set()
        return [await first, *[await reader for reader in later]]

    bodies = asyncio.run(scenario())
    assert reads == [0, 1]  # two reads for eleven readers; the second began after the write
    assert len(set(bodies[1:])) == 1 and bodies[0] not in bodies[1:]  # the later readers got the new page
    assert world.renders == 2


def test_the_placeholder_cannot_be_mistaken_for_page_text() -> None:
    assert re.fullmatch(r"csrf-[0-9a-f]{32}", PLACEHOLDER)


# ---------------------------------------------------------------- on a real daemon


def test_a_silence_added_by_another_process_shows_on_the_next_read(daemon: Daemon, board: Dashboard) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{daemon.port}", timeout=30) as client:
        assert client.get("/").status_code == client.get("/fragments/overview").status_code == 200  # now cached
        cli(board.config, "silence", "add", "--match", "service=scrapers", "--for", "1h", "--comment", "cache probe")
        added = [s for s in cli_json(board.config, "silence", "list")["silences"] if s["comment"] == "cache probe"]
        assert len(added) == 1
        assert added[0]["id"] in client.get("/").text
        assert added[0]["id"] in client.get("/fragments/overview").text
        cli(board.config, "silence", "expire", added[0]["id"])
        assert added[0]["id"] not in client.get("/").text


def test_cached_pages_carry_each_readers_own_csrf_value_and_its_forms_work(daemon: Daemon) -> None:
    first, first_csrf = signed_in(daemon)
    second, second_csrf = signed_in(daemon)
    try:
        assert first_csrf != second_csrf
        for client, csrf in ((first, first_csrf), (second, second_csrf)):
            page = client.get("/")
            values = set(re.findall(r'name="csrf" value="([^"]+)"', page.text))
            assert values == {csrf} and PLACEHOLDER not in page.text
        answer = second.post("/silences", data={"csrf": second_csrf, "matchers": "service=api", "duration": "1h",
                                                "comment": "form on a cached page", "next": "/"},
                             headers=origin(daemon))
        assert answer.status_code == 303, answer.text
        assert "form on a cached page" in first.get("/").text
    finally:
        first.close()
        second.close()
