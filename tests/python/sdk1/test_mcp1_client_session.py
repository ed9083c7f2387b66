"""The official MCP Python SDK, 1.x line (mcp==1.30.0), drives `kingly qemu`
through its legacy `ClientSession` (initialize handshake), as a client
nobody on this project wrote.

1.x models use camelCase attributes; every result is compared as the plain
JSON the server sent (`plain()`), against the shared expectations in
kingly_checks. Cancellation: 1.x has no API to cancel an in-flight request
(abandoning the awaiting task sends nothing), so the test sends
`notifications/cancelled` itself through the session's public
`send_notification`, with the request id read off the wire by the tap.
"""

import asyncio
import json
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client
from pydantic import AnyUrl

from kingly_checks import (
    CANCEL_CALL,
    LEGACY_VERSIONS,
    MIB,
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
from kingly_tap import tapped


@dataclass
class Conn:
    session: ClientSession
    init: dict
    tap: object
    notifications: list = field(default_factory=list)


@asynccontextmanager
async def connect(server_cmd, errlog):
    command, args = server_cmd
    params = StdioServerParameters(command=command, args=args)
    notifications = []

    async def on_message(message):
        if isinstance(message, types.ServerNotification):
            notifications.append(plain(message.root))

    async with stdio_client(params, errlog=errlog) as streams:
        async with tapped(streams) as (tap, (read, write)):
            async with ClientSession(
                read,
                write,
                read_timeout_seconds=timedelta(seconds=READ_TIMEOUT),
                message_handler=on_message,
            ) as session:
                init = await session.initialize()
                yield Conn(session, plain(init), tap, notifications)


def run(server_cmd, errlog, body):
    async def main():
        async with connect(server_cmd, errlog) as conn:
            return await body(conn)

    return asyncio.run(asyncio.wait_for(main(), timeout=SESSION_TIMEOUT))


# --- handshake, tools, sys_info ------------------------------------------------


def test_initialize_handshake(server_cmd, errlog):
    async def body(c):
        return c.init

    init = run(server_cmd, errlog, body)
    assert init["serverInfo"]["name"] == "kingly-os"
    assert init["protocolVersion"] in LEGACY_VERSIONS
    assert "tools" in init["capabilities"]


def test_list_tools(server_cmd, errlog):
    async def body(c):
        return plain(await c.session.list_tools())

    check_tools_list(run(server_cmd, errlog, body)["tools"])


def test_call_sys_info(server_cmd, errlog):
    async def body(c):
        # 1.x validates structuredContent against the tool's outputSchema once
        # it has seen tools/list; list first so that check runs too.
        await c.session.list_tools()
        return plain(await c.session.call_tool("sys_info", {}))

    check_sys_info(run(server_cmd, errlog, body))


def test_ping(server_cmd, errlog):
    async def body(c):
        return plain(await c.session.send_ping())

    assert run(server_cmd, errlog, body) == {}


def test_unknown_tool_is_an_error_not_a_hang(server_cmd, errlog):
    async def body(c):
        try:
            return plain(await c.session.call_tool("no_such_tool", {}))
        except Exception as exc:  # the SDK raises McpError on a JSON-RPC error
            return str(exc)

    outcome = run(server_cmd, errlog, body)
    if isinstance(outcome, str):
        assert "no_such_tool" in outcome
    else:
        assert outcome["isError"] is True


# --- mem_test: progress and cancellation --------------------------------------


def test_list_tools_has_mem_test(server_cmd, errlog):
    async def body(c):
        return plain(await c.session.list_tools())

    by_name = check_tools_list(run(server_cmd, errlog, body)["tools"])
    assert "mem_test" in by_name, sorted(by_name)
    check_mem_test_tool(by_name["mem_test"])


def test_mem_test_reports_progress(server_cmd, errlog):
    updates = []

    async def on_progress(progress, total, message):
        updates.append((progress, total))

    async def body(c):
        await c.session.list_tools()
        return plain(
            await c.session.call_tool("mem_test", PROGRESS_CALL, progress_callback=on_progress)
        )

    result = run(server_cmd, errlog, body)
    check_mem_test_result(result, PROGRESS_CALL["bytes"], PROGRESS_CALL["passes"])
    check_progress(updates, PROGRESS_CALL["bytes"])


def test_mem_test_default_arguments(server_cmd, errlog):
    async def body(c):
        await c.session.list_tools()
        return plain(await c.session.call_tool("mem_test", {}))

    check_mem_test_result(run(server_cmd, errlog, body), 16 * MIB, 1)


def test_mem_test_out_of_range_is_rejected(server_cmd, errlog):
    async def body(c):
        try:
            return plain(await c.session.call_tool("mem_test", {"bytes": 512 * MIB}))
        except Exception as exc:
            return str(exc)

    outcome = run(server_cmd, errlog, body)
    assert isinstance(outcome, str) or outcome.get("isError") is True, outcome


def test_cancel_mem_test_then_keep_serving(server_cmd, errlog):
    updates = []

    async def body(c):
        started = anyio.Event()

        async def on_progress(progress, total, message):
            updates.append((progress, total))
            started.set()

        async def long_call():
            await c.session.call_tool("mem_test", CANCEL_CALL, progress_callback=on_progress)

        async with anyio.create_task_group() as tg:
            tg.start_soon(long_call)
            with anyio.fail_after(READ_TIMEOUT):
                await started.wait()
            request_id = c.tap.last_request_id("tools/call")
            await c.session.send_notification(
                types.ClientNotification(
                    types.CancelledNotification(
                        method="notifications/cancelled",
                        params=types.CancelledNotificationParams(
                            requestId=request_id, reason="test: cancel mem_test"
                        ),
                    )
                )
            )
            # Stop waiting locally; 1.x sends nothing more when the task ends.
            tg.cancel_scope.cancel()

        ping = plain(await c.session.send_ping())
        info = plain(await c.session.call_tool("sys_info", {}))
        # Had the kernel finished the cancelled call anyway, its answer would
        # have come before (or soon after) those two.
        await anyio.sleep(2)
        return request_id, ping, info, c.tap.responses_for(request_id)

    request_id, ping, info, late = run(server_cmd, errlog, body)
    assert updates, "mem_test sent no progress before it was cancelled"
    assert ping == {}
    check_sys_info(info)
    assert late == [], f"the cancelled request {request_id} got a response: {late}"


# --- resources -----------------------------------------------------------------


def test_list_resources(server_cmd, errlog):
    async def body(c):
        return c.init, plain(await c.session.list_resources())

    init, listed = run(server_cmd, errlog, body)
    assert init["capabilities"]["resources"].get("subscribe") is True, init["capabilities"]
    check_resources_list(listed["resources"])


def test_read_log(server_cmd, errlog):
    async def body(c):
        return plain(await c.session.read_resource(AnyUrl("kingly://log")))

    check_log_text(text_of_resource(run(server_cmd, errlog, body), "kingly://log", "text/plain"))


def test_read_board_matches_sys_info(server_cmd, errlog):
    async def body(c):
        board = plain(await c.session.read_resource(AnyUrl("kingly://board")))
        info = plain(await c.session.call_tool("sys_info", {}))
        return board, info

    board, info = run(server_cmd, errlog, body)
    facts = check_board_json(text_of_resource(board, "kingly://board", "application/json"))
    assert facts["board_serial"] == info["structuredContent"]["board_serial"]


def test_read_metrics(server_cmd, errlog):
    async def body(c):
        return plain(await c.session.read_resource(AnyUrl("kingly://metrics")))

    check_metrics_json(
        text_of_resource(run(server_cmd, errlog, body), "kingly://metrics", "application/json")
    )


def test_log_template_and_level_completion(server_cmd, errlog):
    async def body(c):
        templates = plain(await c.session.list_resource_templates())
        completion = plain(
            await c.session.complete(
                types.ResourceTemplateReference(type="ref/resource", uri="kingly://log/{level}"),
                {"name": "level", "value": ""},
            )
        )
        at_info = plain(await c.session.read_resource(AnyUrl("kingly://log/info")))
        return templates, completion, at_info

    templates, completion, at_info = run(server_cmd, errlog, body)
    check_templates(templates["resourceTemplates"])
    check_level_completion(completion["completion"]["values"])
    check_log_text(text_of_resource(at_info, "kingly://log/info", "text/plain"))


def test_subscribe_metrics_gets_updates(server_cmd, errlog):
    async def body(c):
        await c.session.subscribe_resource(AnyUrl("kingly://metrics"))
        with anyio.fail_after(30):
            while True:
                # Every request served changes the metrics.
                await c.session.send_ping()
                updated = [
                    n
                    for n in c.notifications
                    if n.get("method") == "notifications/resources/updated"
                    and n["params"]["uri"] == "kingly://metrics"
                ]
                if updated:
                    return updated
                await anyio.sleep(0.5)

    assert run(server_cmd, errlog, body)


# --- prompts -------------------------------------------------------------------


def test_list_prompts(server_cmd, errlog):
    async def body(c):
        return plain(await c.session.list_prompts())

    check_prompts_list(run(server_cmd, errlog, body)["prompts"])


def test_get_board_report(server_cmd, errlog):
    async def body(c):
        whole = plain(await c.session.get_prompt("board_report", {}))
        memory = plain(await c.session.get_prompt("board_report", {"focus": "memory"}))
        return whole, memory

    whole, memory = run(server_cmd, errlog, body)
    check_board_report(whole)
    assert prompt_text(memory)


def test_board_report_focus_completion(server_cmd, errlog):
    async def body(c):
        return plain(
            await c.session.complete(
                types.PromptReference(type="ref/prompt", name="board_report"),
                {"name": "focus", "value": ""},
            )
        )

    check_focus_completion(run(server_cmd, errlog, body)["completion"]["values"])


def test_explain_fault(server_cmd, errlog):
    report = "synchronous exception at ELR 0x80abc, ESR 0x96000045 (data abort), FAR 0xdeadbeef"

    async def body(c):
        got = plain(await c.session.get_prompt("explain_fault", {"report": report}))
        try:
            missing = plain(await c.session.get_prompt("explain_fault", {}))
        except Exception as exc:
            missing = str(exc)
        return got, missing

    got, missing = run(server_cmd, errlog, body)
    assert "0x96000045" in prompt_text(got)
    assert isinstance(missing, str), f"explain_fault without a report must be an error: {json.dumps(missing)}"
