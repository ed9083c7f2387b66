"""A transparent stdio pass-through that logs every line both ways.

    python3 wiretap.py LOG -- COMMAND [ARGS...]

The Inspector CLI does not print the notifications it receives, so a test
that needs to see them (progress) puts this between the CLI and the server:
each line is appended to LOG as {"dir": "to_server"|"from_server", "line": ...}.
The server's stderr is inherited. On SIGTERM/SIGINT, or when the client
closes stdin and the server then exits, the server is ended (SIGTERM, then
SIGKILL after 5 s) and reaped.
"""

import json
import signal
import subprocess
import sys
import threading


def main():
    log_path = sys.argv[1]
    assert sys.argv[2] == "--", __doc__
    child = subprocess.Popen(sys.argv[3:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    log = open(log_path, "a", encoding="utf-8")
    lock = threading.Lock()

    def note(direction, line):
        with lock:
            log.write(json.dumps({"dir": direction, "line": line.decode("utf-8", "replace")}) + "\n")
            log.flush()

    def upstream():
        for line in sys.stdin.buffer:
            note("to_server", line)
            try:
                child.stdin.write(line)
                child.stdin.flush()
            except BrokenPipeError:
                break
        try:
            child.stdin.close()
        except BrokenPipeError:
            pass

    def end(*_):
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(5)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        sys.exit(0)

    signal.signal(signal.SIGTERM, end)
    signal.signal(signal.SIGINT, end)
    threading.Thread(target=upstream, daemon=True).start()
    out = sys.stdout.buffer
    for line in child.stdout:
        note("from_server", line)
        out.write(line)
        out.flush()
    end()


if __name__ == "__main__":
    main()
