"""What both SDK suites expect of Kingly OS, independent of the SDK's types.

Everything here takes plain dicts/lists (the suites convert the SDK's models
with `plain()`), so the 1.x (camelCase attributes) and 2.x (snake_case
attributes) suites share one definition of "correct".
"""

import json

MIB = 1 << 20

BOARD_REVISION = "0xb03115"
LOG_LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]
BOARD_REPORT_FOCUS = ["all", "memory", "cores", "thermal", "clocks"]
LEGACY_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
MODERN_VERSION = "2026-07-28"

# Bounds: every wait in the suites is one of these.
SESSION_TIMEOUT = 150.0  # a whole test, boot included
READ_TIMEOUT = 60.0  # one response
CANCEL_CALL = {"bytes": 256 * MIB, "passes": 4}  # several seconds in QEMU: cancelled mid-way
PROGRESS_CALL = {"bytes": 16 * MIB, "passes": 1}


def plain(model):
    """An SDK pydantic model as the JSON the server sent (camelCase keys)."""
    if isinstance(model, (dict, list, str, int, float, bool)) or model is None:
        return model
    return model.model_dump(by_alias=True, mode="json", exclude_none=True)


def check_sys_info(result):
    """`result`: a CallToolResult as a plain dict."""
    assert result.get("isError") in (None, False), result
    info = result["structuredContent"]
    assert info["board_revision"] == BOARD_REVISION
    assert info["cores_online"] == 4
    assert info["exception_level"] == 1
    assert info["cntfrq_hz"] == 62_500_000
    assert info["arm_memory"]["size"] > 0
    assert info["heap"]["free"] > 0
    # The text block carries the same JSON for clients without structured output.
    assert json.loads(result["content"][0]["text"]) == info
    return info


def check_tools_list(tools):
    """`tools`: the list of Tool dicts. Returns them by name."""
    by_name = {t["name"]: t for t in tools}
    assert "sys_info" in by_name, sorted(by_name)
    assert by_name["sys_info"]["inputSchema"]["type"] == "object"
    assert by_name["sys_info"]["outputSchema"]["type"] == "object"
    return by_name


def check_mem_test_tool(tool):
    schema = tool["inputSchema"]
    assert schema["type"] == "object"
    props = schema.get("properties", {})
    assert props.get("bytes", {}).get("type") == "integer", schema
    assert props.get("passes", {}).get("type") == "integer", schema
    assert not schema.get("required"), f"bytes and passes are optional: {schema}"
    assert tool.get("outputSchema", {}).get("type") == "object", tool


def check_mem_test_result(result, bytes_, passes):
    assert result.get("isError") in (None, False), result
    out = result["structuredContent"]
    assert out["bytes"] == bytes_, out
    assert out["passes_done"] == passes, out
    assert out["errors"] == 0, out
    assert out["first_error_address"] is None, out
    return out


def check_progress(updates, bytes_=None):
    """`updates`: (progress, total) pairs in arrival order."""
    assert updates, "no notifications/progress arrived for a call that carried a progressToken"
    progress = [p for p, _ in updates]
    assert all(b > a for a, b in zip(progress, progress[1:])), f"progress not increasing: {progress}"
    totals = {t for _, t in updates}
    assert None not in totals, f"progress without total: {updates}"
    assert len(totals) == 1, f"total changed during the call: {totals}"
    total = totals.pop()
    assert progress[-1] <= total, updates
    if bytes_ is not None:
        # One notification per MiB: a 16 MiB test sends at least a few.
        assert len(updates) >= 2, updates
    return total


def check_resources_list(resources):
    by_uri = {r["uri"]: r for r in resources}
    for uri, mime in (
        ("kingly://log", "text/plain"),
        ("kingly://board", "application/json"),
        ("kingly://metrics", "application/json"),
    ):
        assert uri in by_uri, f"{uri} missing from resources/list: {sorted(by_uri)}"
        assert by_uri[uri].get("mimeType") == mime, by_uri[uri]
    return by_uri


def text_of_resource(read_result, uri, mime):
    contents = read_result["contents"]
    assert contents, read_result
    first = contents[0]
    assert first["uri"] == uri, first
    assert first.get("mimeType") == mime, first
    assert "text" in first, f"{uri} is not a text resource: {first}"
    return first["text"]


def check_log_text(text):
    assert any("booted" in line for line in text.splitlines()), f"no 'booted' line in the log:\n{text[:2000]}"


def check_board_json(text):
    board = json.loads(text)
    assert board["board_revision"] == BOARD_REVISION, board
    assert board["cores_online"] == 4, board
    return board


def check_metrics_json(text):
    metrics = json.loads(text)
    for key in ("uptime_ms",):
        assert isinstance(metrics.get(key), int), f"{key} in {metrics}"
    flat = json.dumps(metrics)
    for word in ("request", "error", "bytes"):
        assert word in flat, f"no {word!r} field in kingly://metrics: {metrics}"
    return metrics


def check_templates(templates):
    by_template = {t["uriTemplate"]: t for t in templates}
    assert "kingly://log/{level}" in by_template, sorted(by_template)
    return by_template


def check_level_completion(values):
    assert set(LOG_LEVELS) <= set(values), f"completion/complete on level offered {values}"


def check_focus_completion(values):
    assert set(BOARD_REPORT_FOCUS) <= set(values), f"completion/complete on focus offered {values}"


def check_prompts_list(prompts):
    by_name = {p["name"]: p for p in prompts}
    assert "board_report" in by_name and "explain_fault" in by_name, sorted(by_name)
    focus = {a["name"]: a for a in by_name["board_report"].get("arguments", [])}
    assert "focus" in focus and not focus["focus"].get("required"), by_name["board_report"]
    report = {a["name"]: a for a in by_name["explain_fault"].get("arguments", [])}
    assert report.get("report", {}).get("required") is True, by_name["explain_fault"]
    return by_name


def prompt_text(get_result):
    messages = get_result["messages"]
    assert messages, get_result
    assert messages[0]["role"] == "user", messages[0]
    content = messages[0]["content"]
    assert content["type"] == "text", content
    return content["text"]


def check_board_report(get_result):
    text = prompt_text(get_result)
    assert BOARD_REVISION in text, f"board_report does not carry the board facts:\n{text[:2000]}"
    return text
