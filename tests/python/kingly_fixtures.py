"""Fixtures shared by the client suites: the official SDKs (tests/python/sdk1: mcp
1.x, sdk2: mcp 2.x) and the MCP Inspector CLI (tests/inspector).

Each test boots its own `kingly qemu` on a private copy of an SD image built
once per run (QEMU locks the image it boots, so two servers never share one).
The SDK's stdio_client starts the server and, on exit, closes its stdin,
waits, then kills it: QEMU always ends with the test.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

KINGLY = os.environ.get("KINGLY_BIN", "")
IMAGE_BUILD_TIMEOUT = 900


@pytest.fixture(scope="session")
def kingly_bin():
    if not KINGLY or not os.access(KINGLY, os.X_OK):
        pytest.fail(f"KINGLY_BIN must name the built `kingly` binary (got {KINGLY!r})")
    return KINGLY


@pytest.fixture(scope="session")
def sd_image(kingly_bin, tmp_path_factory):
    """An SD image built once per run with `kingly image` (which builds the kernel if needed)."""
    path = tmp_path_factory.mktemp("image") / "sd.img"
    done = subprocess.run(
        [kingly_bin, "image", "-o", str(path)],
        capture_output=True,
        text=True,
        timeout=IMAGE_BUILD_TIMEOUT,
    )
    assert done.returncode == 0, f"kingly image failed:\n{done.stderr[-4000:]}"
    return path


@pytest.fixture
def server_cmd(kingly_bin, sd_image, tmp_path):
    """The command line of a `kingly qemu` on this test's own copy of the image."""
    copy = tmp_path / "sd.img"
    shutil.copyfile(sd_image, copy)
    return kingly_bin, ["qemu", "--image", str(copy)]


@pytest.fixture
def errlog(tmp_path):
    """Where the server's stderr goes (kernel build chatter, QEMU messages);
    its tail is printed when the test ends, which pytest shows on failure."""
    path = tmp_path / "server-stderr.txt"
    with open(path, "w", encoding="utf-8") as f:
        yield f
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    lines = [line for line in text.splitlines() if "warning" not in line.lower()]
    print("--- server stderr (tail) ---\n" + "\n".join(lines[-30:]))
