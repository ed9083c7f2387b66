"""The official MCP Python SDK drives `kingly qemu` as any MCP client would.

Nobody on this project wrote this client: if it can connect, list the tools
and call `sys_info` on the real kernel8.img in QEMU raspi4b, so can Claude
Desktop, the MCP Inspector and every other stdio client.
"""

import asyncio
import json
import os

from mcp import ClientSession, StdioServerParameters
from mcp.client.client import Client
from mcp.client.stdio import stdio_client

KINGLY = os.environ["KINGLY_BIN"]
TIMEOUT_SECONDS = 60.0
SERVER = StdioServerParameters(command=KINGLY, args=["qemu"])


async def session_run(body):
    async with stdio_client(SERVER) as (read, write):
        async with ClientSession(read, write, read_timeout_seconds=TIMEOUT_SECONDS) as session:
            return await asyncio.wait_for(body(session), timeout=120)


def run(body):
    return asyncio.run(session_run(body))


def check_sys_info(result):
    assert result.is_error is False
    info = result.structured_content
    assert info["board_revision"] == "0xb03115"
    assert info["cores_online"] == 4
    assert info["exception_level"] == 1
    assert info["cntfrq_hz"] == 62_500_000
    assert info["arm_memory"]["size"] > 0
    assert info["heap"]["free"] > 0
    # The text block carries the same JSON for clients without structured output.
    assert json.loads(result.content[0].text) == info


def test_initialize_list_and_call_sys_info():
    async def body(session):
        init = await session.initialize()
        tools = await session.list_tools()
        result = await session.call_tool("sys_info", {})
        return init, tools, result

    init, tools, result = run(body)
    assert init.server_info.name == "kingly-os"
    assert init.protocol_version in ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")

    by_name = {t.name: t for t in tools.tools}
    assert "sys_info" in by_name
    assert by_name["sys_info"].input_schema["type"] == "object"
    assert by_name["sys_info"].output_schema is not None

    check_sys_info(result)


def test_default_client_negotiates_and_calls_sys_info():
    """The SDK's high-level Client in its default 'auto' mode probes
    `server/discover` first and falls back to `initialize` on -32601."""

    async def body():
        async with Client(SERVER, read_timeout_seconds=TIMEOUT_SECONDS) as client:
            tools = await client.list_tools()
            result = await client.call_tool("sys_info", {})
            return tools, result

    tools, result = asyncio.run(asyncio.wait_for(body(), timeout=120))
    assert "sys_info" in [t.name for t in tools.tools]
    check_sys_info(result)


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
        assert outcome.is_error is True
