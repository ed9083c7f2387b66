"""The official MCP Python SDK drives `kingly qemu` as any MCP client would.

Nobody on this project wrote this client: if it can connect, list the tools
and call `sys_info` on the real kernel8.img in QEMU raspi4b, so can Claude
Desktop, the MCP Inspector and every other stdio client.
"""

import asyncio
import json
import os
from datetime import timedelta

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

KINGLY = os.environ["KINGLY_BIN"]
TIMEOUT = timedelta(seconds=60)


async def session_run(body):
    params = StdioServerParameters(command=KINGLY, args=["qemu"])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write, read_timeout_seconds=TIMEOUT) as session:
            return await asyncio.wait_for(body(session), timeout=120)


def run(body):
    return asyncio.run(session_run(body))


def test_initialize_list_and_call_sys_info():
    async def body(session):
        init = await session.initialize()
        tools = await session.list_tools()
        result = await session.call_tool("sys_info", {})
        return init, tools, result

    init, tools, result = run(body)
    assert init.serverInfo.name == "kingly-os"
    assert init.protocolVersion in ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")

    by_name = {t.name: t for t in tools.tools}
    assert "sys_info" in by_name
    assert by_name["sys_info"].inputSchema["type"] == "object"
    assert by_name["sys_info"].outputSchema is not None

    assert result.isError is False
    info = result.structuredContent
    assert info["board_revision"] == "0xb03115"
    assert info["cores_online"] == 4
    assert info["exception_level"] == 1
    assert info["cntfrq_hz"] == 62_500_000
    assert info["arm_memory"]["size"] > 0
    assert info["heap"]["free"] > 0
    # The text block carries the same JSON for clients without structured output.
    assert json.loads(result.content[0].text) == info


def test_unknown_tool_is_an_error_not_a_hang():
    async def body(session):
        await session.initialize()
        try:
            result = await session.call_tool("no_such_tool", {})
        except Exception as exc:  # the SDK raises on a JSON-RPC error
            return str(exc)
        return result

    outcome = run(body)
    if isinstance(outcome, str):
        assert "no_such_tool" in outcome
    else:
        assert outcome.isError is True
