"""The official MCP Python SDK, 2.x line (mcp==2.3.0), drives `kingly qemu`
through its high-level `mcp.client.client.Client`, as a client nobody on
this project wrote.

The Client runs in its default 'auto' mode: it probes `server/discover`
(the 2026-07-28 era) and falls back to the `initialize` handshake when the
server answers -32601, so most tests pass against either era; a few
insist on 2026-07-28. Cancellation is the SDK's own:
cancelling the task that awaits a call makes 2.x send
`notifications/cancelled` for it.

2.x models use snake_case attributes; results are compared as the plain JSON
the server sent (`plain()`), against the shared expectations in kingly_checks.
"""

import asyncio
import json
import warnings
from contextlib import asynccontextmanager

import anyio
import pytest
from mcp import StdioServerParameters
from mcp.client.client import Client
from mcp.client.stdio import stdio_client
from mcp.types import PromptReference, ResourceTemplateReference

from kingly_checks import (
    CANCEL_CALL,
    LEGACY_VERSIONS,
    MIB,
    MODERN_VERSION,
    PROGRESS_CALL,
    READ_TIMEOUT,
    SESSION_TIMEOUT,
    check_board_json,
    check_board_report,
    check_focus_completion,
    check_level_completion,
    check_log_text,
    check_mem_test_result,
    check_mem_test_tool,
    check_metrics_json,
    check_progress,
    check_prompts_list,
    check_resources_list,
    check_sys_info,
    check_templates,
    check_tools_list,
    plain,
    prompt_text,
    text_of_resource,
)
from kingly_tap import TappedTransport


@asynccontextmanager
async def connect(server_cmd, errlog, **options):
    """A Client (auto mode unless `mode=` is given) on a tapped stdio transport."""
    command, args = server_cmd
    transport = TappedTransport(stdio_client(StdioServerParameters(command=command, args=args), errlog=errlog))
    async with Client(transport, read_timeout_seconds=READ_TIMEOUT, **options) as client:
        client.tap = transport.tap
        yield client


def run(server_cmd, errlog, body, **options):
    async def main():
        async with connect(server_cmd, errlog, **options) as client:
            return await body(client)

    return asyncio.run(asyncio.wait_for(main(), timeout=SESSION_TIMEOUT))


# --- handshake, tools, sys_info ------------------------------------------------


def test_auto_mode_connects(server_cmd, errlog):
    """Today the kernel answers `server/discover` with -32601 and the Client
    falls back to `initialize`; once 2026-07-28 lands it stays modern."""

    async def body(client):
        info = client.server_info
        return client.protocol_version, plain(info) if info else None, client.tap.requests("server/discover")

    version, server_info, probes = run(server_cmd, errlog, body)
    assert probes, "auto mode did not probe server/discover"
    assert version in LEGACY_VERSIONS + (MODERN_VERSION,)
    if server_info is not None:
        assert server_info["name"] == "kingly-os"


def test_list_tools(server_cmd, errlog):
    async def body(client):
        return plain(await client.list_tools())

    check_tools_list(run(server_cmd, errlog, body)["tools"])


def test_call_sys_info(server_cmd, errlog):
    async def body(client):
        return plain(await client.call_tool("sys_info", {}))

    check_sys_info(run(server_cmd, errlog, body))


def test_legacy_mode_call_sys_info(server_cmd, errlog):
    async def body(client):
        return client.protocol_version, plain(await client.call_tool("sys_info", {}))

    version, result = run(server_cmd, errlog, body, mode="legacy")
    assert version in LEGACY_VERSIONS
    check_sys_info(result)


def test_unknown_tool_is_an_error_not_a_hang(server_cmd, errlog):
    async def body(client):
        try:
            return plain(await client.call_tool("no_such_tool", {}))
        except Exception as exc:  # the SDK raises on a JSON-RPC error
            return str(exc)

    outcome = run(server_cmd, errlog, body)
    if isinstance(outcome, str):
        assert "no_such_tool" in outcome
    else:
        assert outcome["isError"] is True


# --- the 2026-07-28 era --------------------------------------------------------


def test_auto_mode_negotiates_2026_07_28(server_cmd, errlog):
    async def body(client):
        return client.protocol_version, client.tap.requests("initialize")

    version, initializes = run(server_cmd, errlog, body)
    assert version == MODERN_VERSION
    assert initializes == [], "a modern connection needs no initialize"


def test_pinned_modern_mode_is_stateless(server_cmd, errlog):
    """mode='2026-07-28' skips discovery: every request carries its own
    `_meta` (protocolVersion, clientCapabilities) and must be served as is."""

    async def body(client):
        tools = plain(await client.list_tools())
        result = plain(await client.call_tool("sys_info", {}))
        return tools, result, client.tap.sent

    tools, result, sent = run(server_cmd, errlog, body, mode=MODERN_VERSION)
    check_tools_list(tools["tools"])
    check_sys_info(result)
    calls = [m for m in sent if m.get("method") == "tools/call"]
    meta = calls[-1]["params"]["_meta"]
    assert json.dumps(meta).count(MODERN_VERSION), f"no protocol version in _meta: {meta}"


# --- mem_test: progress and cancellation --------------------------------------


def test_list_tools_has_mem_test(server_cmd, errlog):
    async def body(client):
        return plain(await client.list_tools())

    by_name = check_tools_list(run(server_cmd, errlog, body)["tools"])
    assert "mem_test" in by_name, sorted(by_name)
    check_mem_test_tool(by_name["mem_test"])


def test_mem_test_reports_progress(server_cmd, errlog):
    updates = []

    async def on_progress(progress, total, message):
        updates.append((progress, total))

    async def body(client):
        return plain(await client.call_tool("mem_test", PROGRESS_CALL, progress_callback=on_progress))

    result = run(server_cmd, errlog, body)
    check_mem_test_result(result, PROGRESS_CALL["bytes"], PROGRESS_CALL["passes"])
    check_progress(updates, PROGRESS_CALL["bytes"])


def test_mem_test_default_arguments(server_cmd, errlog):
    async def body(client):
        return plain(await client.call_tool("mem_test", {}))

    check_mem_test_result(run(server_cmd, errlog, body), 16 * MIB, 1)


def test_cancel_mem_test_then_keep_serving(server_cmd, errlog):
    updates = []

    async def body(client):
        started = anyio.Event()

        async def on_progress(progress, total, message):
            updates.append((progress, total))
            started.set()

        async def long_call():
            await client.call_tool("mem_test", CANCEL_CALL, progress_callback=on_progress)

        async with anyio.create_task_group() as tg:
            tg.start_soon(long_call)
            with anyio.fail_after(READ_TIMEOUT):
                await started.wait()
            # The SDK's own cancellation: it sends notifications/cancelled.
            tg.cancel_scope.cancel()

        request_id = client.tap.last_request_id("tools/call")
        ping_ok = True
        if client.protocol_version != MODERN_VERSION:  # 2026-07-28 has no ping
            ping_ok = plain(await client.send_ping()) == {}
        info = plain(await client.call_tool("sys_info", {}))
        await anyio.sleep(2)
        cancels = [
            m for m in client.tap.sent
            if m.get("method") == "notifications/cancelled" and m["params"].get("requestId") == request_id
        ]
        return request_id, cancels, ping_ok, info, client.tap.responses_for(request_id)

    request_id, cancels, ping_ok, info, late = run(server_cmd, errlog, body)
    assert updates, "mem_test sent no progress before it was cancelled"
    assert cancels, "the SDK did not send notifications/cancelled"
    assert ping_ok
    check_sys_info(info)
    assert late == [], f"the cancelled request {request_id} got a response: {late}"


# --- resources -----------------------------------------------------------------


def test_list_resources(server_cmd, errlog):
    async def body(client):
        return plain(await client.list_resources())

    check_resources_list(run(server_cmd, errlog, body)["resources"])


def test_read_log(server_cmd, errlog):
    async def body(client):
        return plain(await client.read_resource("kingly://log"))

    check_log_text(text_of_resource(run(server_cmd, errlog, body), "kingly://log", "text/plain"))


def test_read_board(server_cmd, errlog):
    async def body(client):
        return plain(await client.read_resource("kingly://board"))

    check_board_json(text_of_resource(run(server_cmd, errlog, body), "kingly://board", "application/json"))


def test_read_metrics(server_cmd, errlog):
    async def body(client):
        return plain(await client.read_resource("kingly://metrics"))

    check_metrics_json(text_of_resource(run(server_cmd, errlog, body), "kingly://metrics", "application/json"))


def test_log_template_and_level_completion(server_cmd, errlog):
    async def body(client):
        templates = plain(await client.list_resource_templates())
        completion = plain(
            await client.complete(
                ResourceTemplateReference(type="ref/resource", uri="kingly://log/{level}"),
                {"name": "level", "value": ""},
            )
        )
        at_info = plain(await client.read_resource("kingly://log/info"))
        return templates, completion, at_info

    templates, completion, at_info = run(server_cmd, errlog, body)
    check_templates(templates["resourceTemplates"])
    check_level_completion(completion["completion"]["values"])
    check_log_text(text_of_resource(at_info, "kingly://log/info", "text/plain"))


def test_legacy_subscribe_metrics_gets_updates(server_cmd, errlog):
    """resources/subscribe exists only before 2026-07-28, so this one pins
    the legacy handshake."""
    updated = []

    async def on_message(message):
        if getattr(message, "method", None) == "notifications/resources/updated":
            updated.append(plain(message))

    async def body(client):
        # subscribe_resource and send_ping warn that 2026-07-28 dropped them;
        # this session is legacy on purpose.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            await client.subscribe_resource("kingly://metrics")
            with anyio.fail_after(30):
                while True:
                    await client.send_ping()  # every request served changes the metrics
                    seen = [m for m in client.tap.notifications("notifications/resources/updated")
                            if m["params"]["uri"] == "kingly://metrics"]
                    if seen:
                        return seen
                    await anyio.sleep(0.5)

    assert run(server_cmd, errlog, body, mode="legacy", message_handler=on_message)


# --- prompts -------------------------------------------------------------------


def test_list_prompts(server_cmd, errlog):
    async def body(client):
        return plain(await client.list_prompts())

    check_prompts_list(run(server_cmd, errlog, body)["prompts"])


def test_get_board_report(server_cmd, errlog):
    async def body(client):
        whole = plain(await client.get_prompt("board_report", {}))
        cores = plain(await client.get_prompt("board_report", {"focus": "cores"}))
        return whole, cores

    whole, cores = run(server_cmd, errlog, body)
    check_board_report(whole)
    assert prompt_text(cores)


def test_board_report_focus_completion(server_cmd, errlog):
    async def body(client):
        return plain(
            await client.complete(PromptReference(type="ref/prompt", name="board_report"), {"name": "focus", "value": ""})
        )

    check_focus_completion(run(server_cmd, errlog, body)["completion"]["values"])


def test_explain_fault(server_cmd, errlog):
    report = "synchronous exception at ELR 0x80abc, ESR 0x96000045 (data abort), FAR 0xdeadbeef"

    async def body(client):
        got = plain(await client.get_prompt("explain_fault", {"report": report}))
        try:
            missing = plain(await client.get_prompt("explain_fault", {}))
        except Exception as exc:
            missing = str(exc)
        return got, missing

    got, missing = run(server_cmd, errlog, body)
    assert "0x96000045" in prompt_text(got)
    assert isinstance(missing, str), f"explain_fault without a report must be an error: {missing}"
