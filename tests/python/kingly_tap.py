"""A wiretap between an SDK session and its stdio transport.

The SDKs hide some facts a test needs: which JSON-RPC id a call went out
with (to cancel it by hand on 1.x) and whether a response for a cancelled
request ever came back (the SDKs drop responses nobody waits for). The tap
sits on the transport's two streams, forwards every message unchanged and
keeps a plain-dict copy of each. Works with mcp 1.x and 2.x (both use anyio
memory streams of SessionMessage).
"""

from contextlib import AsyncExitStack, asynccontextmanager

import anyio


def _as_dict(item):
    if isinstance(item, Exception):
        return {"exception": repr(item)}
    message = getattr(item, "message", item)
    message = getattr(message, "root", message)  # 1.x: JSONRPCMessage is a RootModel
    return message.model_dump(by_alias=True, mode="json", exclude_none=True)


class Tap:
    def __init__(self):
        self.sent = []
        self.received = []

    def requests(self, method):
        return [m for m in self.sent if m.get("method") == method and "id" in m]

    def last_request_id(self, method):
        found = self.requests(method)
        assert found, f"no {method} request was sent"
        return found[-1]["id"]

    def responses_for(self, request_id):
        return [
            m
            for m in self.received
            if "method" not in m and m.get("id") == request_id and ("result" in m or "error" in m)
        ]

    def notifications(self, method):
        return [m for m in self.received if m.get("method") == method and "id" not in m]


@asynccontextmanager
async def tapped(streams):
    """Yields (tap, (read, write)) to hand to a session instead of `streams`."""
    read, write = streams
    tap = Tap()
    to_session, session_reads = anyio.create_memory_object_stream(256)
    session_writes, from_session = anyio.create_memory_object_stream(256)

    # A side that has closed (the session at its exit, the transport when the
    # server is gone) ends the pump; late messages are still recorded.
    closed = (anyio.BrokenResourceError, anyio.ClosedResourceError, anyio.EndOfStream)

    async def pump_in():
        async with to_session:
            try:
                async for item in read:
                    tap.received.append(_as_dict(item))
                    await to_session.send(item)
            except closed:
                pass

    async def pump_out():
        async with from_session:
            try:
                async for item in from_session:
                    tap.sent.append(_as_dict(item))
                    await write.send(item)
            except closed:
                pass

    async with anyio.create_task_group() as tg:
        tg.start_soon(pump_in)
        tg.start_soon(pump_out)
        try:
            yield tap, (session_reads, session_writes)
        finally:
            tg.cancel_scope.cancel()


class TappedTransport:
    """An mcp 2.x `Transport` (async context manager of streams) around another one."""

    def __init__(self, inner):
        self.inner = inner
        self.tap = None
        self._stack = None

    async def __aenter__(self):
        self._stack = AsyncExitStack()
        await self._stack.__aenter__()
        try:
            streams = await self._stack.enter_async_context(self.inner)
            self.tap, streams = await self._stack.enter_async_context(tapped(streams))
        except BaseException:
            await self._stack.__aexit__(None, None, None)
            raise
        return streams

    async def __aexit__(self, *exc):
        return await self._stack.__aexit__(*exc)
