"""The counting half of scripts/guest-profile (run that, not this).

A QEMU `-d in_asm,exec,nochain` log holds, for each translated block, an
`IN:` listing (one line per guest instruction) and, for each execution, a
`Trace` line with the block's pc and cflags. Under -icount QEMU sometimes
translates a shorter block at the same pc (the instruction budget ends
inside it); such a block has other cflags, so sizes are keyed by
(pc, flags, cflags), taken from the first Trace line after the listing.
"""
import bisect, collections, json, os, re, socket, subprocess, sys, threading, time

TRACE = re.compile(rb"Trace \d+: \S+ \[[0-9a-f]+/([0-9a-f]+)/([0-9a-f]+)/([0-9a-f]+)\]")
# Where EL0 programs run (kernel/src/el0/space.rs): not kernel symbols.
USER_WINDOW = 0x10_0000_0000
INSN = re.compile(rb"0x([0-9a-f]{8,16}):\s")


def count(stream):
    """(sizes, counts) of one log: block key -> instructions, executions."""
    sizes, counts = {}, collections.Counter()
    pending = None  # (pc, length) of the last listing, not yet matched
    cur, n = None, 0
    for line in stream:
        if line.startswith(b"Trace"):
            if cur is not None:
                pending, cur = (cur, n), None
            m = TRACE.match(line)
            if m:
                key = (int(m.group(1), 16), m.group(2), m.group(3))
                counts[key] += 1
                if pending and pending[0] == key[0]:
                    sizes[key] = pending[1]
                    pending = None
        elif line.startswith(b"IN:"):
            cur, n = None, 0
        else:
            m = INSN.match(line)
            if m:
                if cur is None:
                    cur = int(m.group(1), 16)
                n += 1
    return sizes, counts


def report(p1, p2, elf, units, unit):
    (s1, c1), (s2, c2) = p1, p2
    syms = []
    out = subprocess.run(["llvm-nm", "-n", "--demangle", elf], capture_output=True, text=True).stdout
    for l in out.splitlines():
        p = l.split(" ", 2)
        if len(p) == 3 and p[1] in "tTwW":
            syms.append((int(p[0], 16), p[2]))
    addrs = [a for a, _ in syms]
    per, total, unsized = collections.Counter(), 0, 0
    blocks = collections.Counter()
    focus = os.environ.get("GUEST_PROFILE_BLOCKS")
    for key in set(c1) | set(c2):
        d = c2[key] - c1[key]
        if d == 0:
            continue
        size = s2.get(key) or s1.get(key)
        if size is None:
            unsized += d
            continue
        pc = key[0]
        i = bisect.bisect_right(addrs, pc) - 1
        n = d * size
        if pc >= USER_WINDOW:
            per["(EL0 program)"] += n
        else:
            per[syms[i][1] if i >= 0 else "?"] += n
        total += n
        if focus and i >= 0 and focus in syms[i][1]:
            blocks[pc] += n
    print(f"instructions per {unit}, all cores: {total / units:.0f}")
    if unsized:
        print(f"(block executions without a listing, not counted: {unsized / units:.0f} per {unit})")
    for name, n in per.most_common(30):
        print(f"{n / units:11.0f}  {100 * n / total:5.1f}%  {name[:130]}")
    if focus:
        print(f"blocks of symbols containing {focus!r} (start address: instructions per {unit}):")
        for pc, n in sorted(blocks.items()):
            print(f"  {pc:#x}: {n / units:.1f}")


def llm(tmp, elf, kernel8, image, n, k):
    """`llm_generate` after `llm_load`: instructions per generated token."""
    def setup(tool):
        entries = tool("fs_list", {"path": "/MODELS"})["entries"]
        path = "/MODELS/" + next(e["name"] for e in entries if e["long_name"].lower().endswith(".gguf"))
        tool("llm_load", {"path": path})

    def measured(tool, tokens):
        run = tool("llm_generate", {"prompt": "The Raspberry Pi is a small computer that",
                                    "max_tokens": tokens, "n_threads": 1, "temperature": 0})
        print(f"max_tokens {tokens}: generated {run.get('generated_tokens')}, timing {run.get('timing')}", file=sys.stderr)

    profiles = logged_runs(tmp, kernel8, image, [], setup, measured, (n, n + k))
    report(profiles[0], profiles[1], elf, k, "generated token")


def app(tmp, elf, kernel8, image, n, k):
    """/APPS/BENCH.ELF calling the test-only `app_echo` n and n+k times:
    instructions per svc round trip (what `kingly bench` measures)."""
    def measured(tool, calls):
        run = tool("app_run", {"path": "/APPS/BENCH.ELF", "args": {"n": calls, "tool": "app_echo"}})
        print(f"n {calls}: {run.get('output', '').strip()}, instructions {run.get('instructions')}", file=sys.stderr)

    profiles = logged_runs(tmp, kernel8, image, ["-append", "test_tools=1"], lambda tool: None,
                           measured, (n, n + k))
    report(profiles[0], profiles[1], elf, k, "svc round trip")


def logged_runs(tmp, kernel8, image, extra, setup, measured, sizes):
    """One QEMU under icount on a copy of `image`: `setup(tool)` unlogged,
    then `measured(tool, size)` for each size with the logs streaming
    through a FIFO into `count` (nochain makes QEMU translate every block
    again, so the sizes are all logged; nothing large is written to disk).
    Returns one profile per size."""
    mon = f"{tmp}/monitor.sock"
    card = f"{tmp}/sd.img"
    subprocess.run(["cp", "--reflink=auto", image, card], check=True)
    qemu = subprocess.Popen(
        ["qemu-system-aarch64", "-M", "raspi4b", "-kernel", kernel8,
         "-drive", f"if=sd,format=raw,file={card}", "-serial", "stdio", "-display", "none",
         "-monitor", f"unix:{mon},server,nowait", "-icount", "shift=0,align=off,sleep=off", *extra],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    # A bound on the whole run (about 10 minutes on an idle 2-core host).
    limit = threading.Timer(3600, qemu.kill)
    limit.daemon = True
    limit.start()
    ids = iter(range(1, 1000))

    def call(method, params):
        i = next(ids)
        qemu.stdin.write(json.dumps({"jsonrpc": "2.0", "id": i, "method": method, "params": params}).encode() + b"\n")
        qemu.stdin.flush()
        while True:
            line = qemu.stdout.readline()
            if not line:
                sys.exit("guest-profile: QEMU ended")
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if msg.get("id") == i:
                if "error" in msg or msg.get("result", {}).get("isError"):
                    sys.exit(f"guest-profile: {method}: {msg}")
                return msg["result"]

    def tool(name, args):
        return call("tools/call", {"name": name, "arguments": args}).get("structuredContent", {})

    for _ in range(100):
        if os.path.exists(mon):
            break
        time.sleep(0.1)
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(mon)

    def hmp(cmd):
        sock.sendall(cmd.encode() + b"\n")
        time.sleep(0.5)

    try:
        call("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                            "clientInfo": {"name": "guest-profile", "version": "1"}})
        setup(tool)
        profiles = []
        for size in sizes:
            fifo = f"{tmp}/log{size}.fifo"
            os.mkfifo(fifo)
            result = {}
            reader = threading.Thread(target=lambda: result.update(p=count(open(fifo, "rb", buffering=1 << 20))))
            reader.start()
            hmp(f"logfile {fifo}")
            hmp("log in_asm,exec,nochain")
            measured(tool, size)
            hmp("log none")
            hmp(f"logfile {tmp}/closed.log")
            reader.join()
            profiles.append(result["p"])
    finally:
        limit.cancel()
        qemu.kill()
        qemu.wait()
    return profiles


def main():
    mode, tmp, elf = sys.argv[1:4]
    if mode == "logs":
        units, unit = int(sys.argv[4]), sys.argv[5]
        p1 = count(open(f"{tmp}/trace1.log", "rb"))
        p2 = count(open(f"{tmp}/trace101.log", "rb"))
        report(p1, p2, elf, units, unit)
    else:
        kernel8, image, n, k = sys.argv[4], sys.argv[5], int(sys.argv[6]), int(sys.argv[7])
        {"llm": llm, "app": app}[mode](tmp, elf, kernel8, image, n, k)


main()
