"""A TCP proxy on 127.0.0.1 that delays each direction, to time the program as a township office on the
e-government network sees it (tens of milliseconds per round trip to the county's PostgreSQL).

    with LatencyProxy(upstream_port=5432, rtt_ms=20) as proxy:
        url = f"postgresql://postgres@127.0.0.1:{proxy.port}/test"
        ...
        proxy.round_trips  # client messages answered by the server since the last reset()

Each chunk is held for half the round trip before it is forwarded, in order, so pipelined traffic stays
pipelined. ``round_trips`` counts the times the client spoke after the server last did: the requests that
had to wait for an answer, which is what latency multiplies.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time


class LatencyProxy:
    def __init__(
        self, *, upstream_host: str = "127.0.0.1", upstream_port: int = 5432, rtt_ms: float = 20
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.one_way = rtt_ms / 2000
        self.port = 0
        self.round_trips = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="latency-proxy", daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self._lock = threading.Lock()

    def set_rtt(self, rtt_ms: float) -> None:
        self.one_way = rtt_ms / 2000

    def reset(self) -> int:
        with self._lock:
            count, self.round_trips = self.round_trips, 0
        return count

    def __enter__(self) -> LatencyProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        state = {"server_spoke": True}
        with contextlib.suppress(asyncio.CancelledError):  # the proxy is closing
            await asyncio.gather(
                self._pump(reader, up_writer, state, from_client=True),
                self._pump(up_reader, writer, state, from_client=False),
            )

    async def _pump(
        self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, state: dict, *, from_client: bool
    ) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                if not data:
                    break
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                dst.write(data)
                with contextlib.suppress(ConnectionError):
                    await dst.drain()
            with contextlib.suppress(Exception):
                dst.close()

        sender = asyncio.ensure_future(deliver())
        try:
            while True:
                data = await src.read(65536)
                if from_client and data and state["server_spoke"]:
                    with self._lock:
                        self.round_trips += 1
                    state["server_spoke"] = False
                elif not from_client and data:
                    state["server_spoke"] = True
                await queue.put((time.monotonic() + self.one_way, data))
                if not data:
                    break
        except ConnectionError:
            await queue.put((0.0, b""))
        await sender
