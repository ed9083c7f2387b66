"""The MCP Inspector CLI (@modelcontextprotocol/inspector 2.12.0 --cli), a
client nobody on this project wrote, against `kingly qemu`, in both of its
protocol eras:

- `--protocol-era legacy`: the `initialize` handshake;
- `--protocol-era modern`: 2026-07-28 pinned, `server/discover` and no
  fallback.

Each check is one CLI run (`--format json` prints one JSON object: `result`
or `error`), booting its own QEMU on a private image copy. The CLI runs in
its own process group, which is killed when the run ends or times out, so
QEMU always ends.

What the CLI cannot do, and so is not tested through it:
- show progress: `--tool-metadata progressToken=N` does send
  `_meta.progressToken`, but the CLI only uses the notifications to extend
  its own timeout and prints none of them. The progress test therefore puts
  wiretap.py between the CLI and the server and reads them off the wire.
- cancel: no command or signal makes it send `notifications/cancelled` for a
  running call (it does so only on its own request timeout, and a
  `requestTimeout` in a --config server entry did not apply to tools/call in
  2.12.0).
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from kingly_checks import (
    BOARD_REVISION,
    LEGACY_VERSIONS,
    MIB,
    check_log_text,
    check_sys_info,
    check_tools_list,
    prompt_text,
    text_of_resource,
)

HERE = Path(__file__).resolve().parent
NODE_TOOLS = Path(os.environ.get("KINGLY_NODE_TOOLS", HERE.parent.parent / "target" / "node-tools"))
BIN = NODE_TOOLS / "node_modules" / ".bin"
RUN_LIMIT = 150  # seconds for one CLI run, boot included

LEGACY = "legacy"
MODERN = "modern"


@pytest.fixture(scope="session")
def cli_env():
    """PATH with the project-local Node 22 first (the CLI needs >= 22.19)."""
    if not (BIN / "mcp-inspector").exists():
        pytest.fail(f"the Inspector CLI is not installed under {NODE_TOOLS} (scripts/test installs it)")
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    # A stdio server needs no OAuth secrets: keep them in memory, say so quietly.
    env.setdefault("MCP_INSPECTOR_SECRET_STORE", "memory")
    version = subprocess.run(["node", "--version"], env=env, capture_output=True, text=True, timeout=30).stdout
    major, minor = (int(x) for x in version.strip().lstrip("v").split(".")[:2])
    assert (major, minor) >= (22, 19), f"node {version.strip()} on PATH; the Inspector CLI needs >= 22.19"
    return env


def inspector(cli_env, tmp_path, server_cmd, era, *method, wrap=None):
    """Runs one CLI invocation; returns the JSON object it printed."""
    command, args = server_cmd
    target = [command, *args]
    if wrap:
        target = [*wrap, "--", *target]
    argv = [
        str(BIN / "mcp-inspector"), "--cli", "--format", "json",
        "--protocol-era", era, *method, "--", *target,
    ]
    proc = subprocess.Popen(
        argv, env=cli_env, cwd=tmp_path, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=RUN_LIMIT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"the Inspector CLI took over {RUN_LIMIT} s: {' '.join(method)}\n{err[-3000:]}")
    finally:
        try:  # whatever the CLI left behind (QEMU) ends with it
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        return json.loads(out)
    except json.JSONDecodeError:
        pass
    for line in reversed(err.strip().splitlines()):  # the error envelope may come on stderr
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                break
    pytest.fail(f"no JSON from the Inspector CLI (exit {proc.returncode}):\nstdout: {out[-2000:]}\nstderr: {err[-3000:]}")


def result_of(printed, what):
    assert "result" in printed, f"{what}: the Inspector CLI printed {json.dumps(printed)[:3000]}"
    return printed["result"]


@pytest.mark.parametrize("era", [LEGACY, MODERN])
def test_tools_list(cli_env, tmp_path, server_cmd, era):
    printed = inspector(cli_env, tmp_path, server_cmd, era, "--method", "tools/list")
    check_tools_list(result_of(printed, "tools/list")["tools"])


@pytest.mark.parametrize("era", [LEGACY, MODERN])
def test_call_sys_info(cli_env, tmp_path, server_cmd, era):
    printed = inspector(cli_env, tmp_path, server_cmd, era, "--method", "tools/call", "--tool-name", "sys_info")
    check_sys_info(result_of(printed, "tools/call sys_info"))


@pytest.mark.parametrize("era", [LEGACY, MODERN])
def test_read_log(cli_env, tmp_path, server_cmd, era):
    printed = inspector(cli_env, tmp_path, server_cmd, era, "--method", "resources/read", "--uri", "kingly://log")
    check_log_text(text_of_resource(result_of(printed, "resources/read kingly://log"), "kingly://log", "text/plain"))


@pytest.mark.parametrize("era", [LEGACY, MODERN])
def test_get_board_report(cli_env, tmp_path, server_cmd, era):
    printed = inspector(
        cli_env, tmp_path, server_cmd, era,
        "--method", "prompts/get", "--prompt-name", "board_report", "--prompt-args", "focus=all",
    )
    text = prompt_text(result_of(printed, "prompts/get board_report"))
    assert BOARD_REVISION in text, text[:2000]


def test_progress_token_is_honoured(cli_env, tmp_path, server_cmd):
    """The CLI sends the token; the notifications are read off the wire."""
    wire = tmp_path / "wire.jsonl"
    printed = inspector(
        cli_env, tmp_path, server_cmd, LEGACY,
        "--method", "tools/call", "--tool-name", "mem_test",
        "--tool-args-json", json.dumps({"bytes": 16 * MIB}),
        "--tool-metadata", "progressToken=4242",
        wrap=[sys.executable, str(HERE / "wiretap.py"), str(wire)],
    )
    out = result_of(printed, "tools/call mem_test")["structuredContent"]
    assert out["bytes"] == 16 * MIB and out["errors"] == 0, out
    lines = [json.loads(line) for line in wire.read_text().splitlines()]
    calls = [json.loads(entry["line"]) for entry in lines if entry["dir"] == "to_server" and '"tools/call"' in entry["line"]]
    assert calls and calls[-1]["params"]["_meta"]["progressToken"] == 4242, calls
    progress = [
        json.loads(entry["line"])["params"]
        for entry in lines
        if entry["dir"] == "from_server" and '"notifications/progress"' in entry["line"]
    ]
    assert progress, "no notifications/progress on the wire"
    assert all(p["progressToken"] == 4242 and p.get("total") for p in progress), progress
    values = [p["progress"] for p in progress]
    assert values == sorted(set(values)), f"progress not increasing: {values}"


def test_legacy_handshake_version(cli_env, tmp_path, server_cmd):
    """The CLI's legacy era speaks `initialize`; the wire shows what was agreed."""
    wire = tmp_path / "wire.jsonl"
    inspector(
        cli_env, tmp_path, server_cmd, LEGACY, "--method", "tools/list",
        wrap=[sys.executable, str(HERE / "wiretap.py"), str(wire)],
    )
    from_server = []
    for entry in map(json.loads, wire.read_text().splitlines()):
        if entry["dir"] == "from_server":
            try:
                from_server.append(json.loads(entry["line"]))
            except json.JSONDecodeError:
                pass
    init = next(m for m in from_server if "protocolVersion" in m.get("result", {}))
    assert init["result"]["protocolVersion"] in LEGACY_VERSIONS, init
    assert init["result"]["serverInfo"]["name"] == "kingly-os", init
