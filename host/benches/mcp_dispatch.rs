//! How fast Kingly OS's `mcp` crate answers a trivial `tools/call`, side by
//! side with rmcp (the official Rust SDK) in the same run, on one core.
//!
//! ```text
//! cargo bench -p kingly --bench mcp_dispatch            # N = 200,000
//! MCP_BENCH_N=1000000 cargo bench -p kingly --bench mcp_dispatch
//! ```
//!
//! It prints figures; it asserts nothing about time. Every path is bytes in,
//! bytes out, in process:
//!
//! - `mcp framed`: one byte stream of request lines through `LineFramer` and
//!   `Server::handle_line`, replies appended to an output buffer (the
//!   kernel's UART loop without the UART);
//! - `mcp handle_line`: pre-split lines straight into `handle_line`;
//! - `mcp handle_binary`: postcard requests through `mcp::binary::handle_binary`
//!   (today a JSON round trip around `handle_line`);
//! - `rmcp pipelined`: rmcp's server on a `tokio::io::duplex` pipe in a
//!   single-threaded runtime, all requests written by one task while another
//!   reads the replies (rmcp's best case: it handles requests concurrently);
//! - `rmcp lock-step`: the same, one request in flight at a time.
//!
//! Two more rows split costs out: `LineFramer` alone on the same stream, and
//! the postcard⇄JSON conversions `handle_binary` adds around `handle_line`.
//! Ratios are taken against rmcp's better mode.
//!
//! Both servers go through the `initialize` handshake first and return the
//! same shape of result (text content + `structuredContent`). The rmcp runs
//! include the client side of the pipe (writing pre-rendered bytes, splitting
//! replies into lines) on the same core; that work is small next to a
//! dispatch, and the `mcp framed` row does the same framing on its side.

use std::hint::black_box;
use std::time::{Duration, Instant};

use mcp::binary::{self, Message};
use mcp::{Frame, LineFramer, Server, ServerInfo, Tool, ToolResult};
use serde_json::json;

const WARM_UP: usize = 20_000;
const RUNS: usize = 3;
const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

fn request(id: usize) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"echo","arguments":{{}}}}}}"#
    )
}

/// The structured result both servers' `echo` tool returns.
fn echo_result() -> serde_json::Value {
    json!({ "ok": true })
}

// --- mcp ------------------------------------------------------------------

fn mcp_server() -> Server {
    let mut server = Server::new(ServerInfo {
        name: "bench",
        title: "Bench",
        version: "0",
        instructions: None,
    });
    server.add_tool(Tool {
        name: "echo",
        title: "Echo",
        description: "Returns a fixed small structured result.",
        input_schema: json!({ "type": "object" }),
        output_schema: None,
        handler: Box::new(|_arguments, _context| ToolResult::Structured(mcp::object! {"ok": true})),
    });
    let reply = server.handle_line(INITIALIZE.as_bytes());
    assert!(reply.is_some_and(|r| r.contains("\"result\"")));
    assert!(server.handle_line(INITIALIZED.as_bytes()).is_none());
    server
}

/// Runs `body` over requests `first..first + n`, returning the elapsed time.
fn timed(mut body: impl FnMut() -> usize) -> (Duration, usize) {
    let start = Instant::now();
    let out = body();
    (start.elapsed(), black_box(out))
}

fn mcp_framed(server: &mut Server, first: usize, n: usize) -> (Duration, usize) {
    let mut input = Vec::with_capacity(n * 96);
    for id in first..first + n {
        input.extend_from_slice(request(id).as_bytes());
        input.push(b'\n');
    }
    let mut framer = LineFramer::new();
    let mut output: Vec<u8> = Vec::with_capacity(1 << 20);
    timed(|| {
        let mut replies = 0;
        framer.push_slice(&input, &mut |frame| {
            let reply = match frame {
                Frame::Line(line) => server.handle_line(&line),
                Frame::TooLong { len } => Some(Server::too_long_response(len)),
            };
            if let Some(reply) = reply {
                if output.len() > (1 << 20) {
                    black_box(&output);
                    output.clear();
                }
                output.extend_from_slice(reply.as_bytes());
                output.push(b'\n');
                replies += 1;
            }
        });
        replies
    })
}

/// The framing share of `mcp_framed`: the same byte stream cut into lines,
/// nothing dispatched.
fn framer_alone(first: usize, n: usize) -> (Duration, usize) {
    let mut input = Vec::with_capacity(n * 96);
    for id in first..first + n {
        input.extend_from_slice(request(id).as_bytes());
        input.push(b'\n');
    }
    let mut framer = LineFramer::new();
    timed(|| {
        let mut bytes = 0;
        framer.push_slice(&input, &mut |frame| {
            if let Frame::Line(line) = frame {
                bytes += black_box(line).len();
            }
        });
        bytes
    })
}

/// The conversion share of `mcp_binary`: decode the request, write its JSON
/// line, read a reply line and encode it, nothing dispatched.
fn binary_codec_alone(reply: &str, first: usize, n: usize) -> (Duration, usize) {
    let requests: Vec<Vec<u8>> = (first..first + n)
        .map(|id| binary::encode(&Message::from_json_line(request(id).as_bytes()).unwrap()))
        .collect();
    timed(|| {
        let mut bytes = 0;
        for bytes_in in &requests {
            let message = binary::decode(bytes_in).unwrap();
            bytes += black_box(message.to_json_line()).len();
            let answer = Message::from_json_line(black_box(reply.as_bytes())).unwrap();
            bytes += binary::encode(&answer).len();
        }
        bytes
    })
}

fn mcp_lines(server: &mut Server, first: usize, n: usize) -> (Duration, usize) {
    let lines: Vec<Vec<u8>> = (first..first + n)
        .map(|id| request(id).into_bytes())
        .collect();
    timed(|| {
        let mut bytes = 0;
        for line in &lines {
            bytes += server.handle_line(line).map_or(0, |reply| reply.len());
        }
        bytes
    })
}

fn mcp_binary(server: &mut Server, first: usize, n: usize) -> (Duration, usize) {
    let requests: Vec<Vec<u8>> = (first..first + n)
        .map(|id| {
            let message = Message::from_json_line(request(id).as_bytes()).unwrap();
            binary::encode(&message)
        })
        .collect();
    timed(|| {
        let mut bytes = 0;
        for bytes_in in &requests {
            bytes += binary::handle_binary(server, bytes_in).map_or(0, |reply| reply.len());
        }
        bytes
    })
}

// --- rmcp -----------------------------------------------------------------

mod rmcp_side {
    use super::*;
    use rmcp::model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, ServerCapabilities, ServerConfig,
    };
    use rmcp::service::RequestContext;
    use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, ReadHalf, WriteHalf};

    #[derive(Clone)]
    struct Echo;

    impl ServerHandler for Echo {
        fn get_info(&self) -> ServerConfig {
            ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
        }

        async fn call_tool(
            &self,
            request: CallToolRequestParams,
            _context: RequestContext<RoleServer>,
        ) -> Result<CallToolResponse, ErrorData> {
            if request.name != "echo" {
                return Err(ErrorData::invalid_params("unknown tool", None));
            }
            Ok(CallToolResult::structured(echo_result()).into())
        }
    }

    pub struct Session {
        runtime: tokio::runtime::Runtime,
        reader: BufReader<ReadHalf<DuplexStream>>,
        writer: Option<WriteHalf<DuplexStream>>,
        line: Vec<u8>,
    }

    impl Session {
        /// Starts rmcp's server on one end of a pipe and runs the handshake
        /// from the other.
        pub fn start() -> Session {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let (client, server) = tokio::io::duplex(64 * 1024);
            runtime.spawn(async move {
                if let Ok(running) = Echo.serve(server).await {
                    let _ = running.waiting().await;
                }
            });
            let (read, write) = tokio::io::split(client);
            let mut session = Session {
                runtime,
                reader: BufReader::with_capacity(64 * 1024, read),
                writer: Some(write),
                line: Vec::new(),
            };
            let reply = session.exchange(INITIALIZE);
            assert!(reply.contains("\"result\""), "rmcp initialize: {reply}");
            session.runtime.block_on(async {
                let w = session.writer.as_mut().unwrap();
                w.write_all(INITIALIZED.as_bytes()).await.unwrap();
                w.write_all(b"\n").await.unwrap();
            });
            session
        }

        /// Sends one line and returns the reply line.
        pub fn exchange(&mut self, line: &str) -> String {
            let Session {
                runtime,
                reader,
                writer,
                line: buf,
            } = self;
            runtime.block_on(async {
                let w = writer.as_mut().unwrap();
                w.write_all(line.as_bytes()).await.unwrap();
                w.write_all(b"\n").await.unwrap();
                buf.clear();
                reader.read_until(b'\n', buf).await.unwrap();
            });
            String::from_utf8_lossy(buf).trim_end().to_string()
        }

        /// All requests written by one task while this one reads replies.
        pub fn pipelined(&mut self, first: usize, n: usize) -> (Duration, usize) {
            let mut input = Vec::with_capacity(n * 96);
            for id in first..first + n {
                input.extend_from_slice(request(id).as_bytes());
                input.push(b'\n');
            }
            let Session {
                runtime,
                reader,
                writer,
                line,
            } = self;
            let mut w = writer.take().unwrap();
            let start = Instant::now();
            let (w, bytes) = runtime.block_on(async {
                let send = tokio::spawn(async move {
                    w.write_all(&input).await.unwrap();
                    w.flush().await.unwrap();
                    w
                });
                let mut bytes = 0;
                for _ in 0..n {
                    line.clear();
                    let got = reader.read_until(b'\n', line).await.unwrap();
                    assert!(got > 0, "rmcp closed the pipe");
                    bytes += got;
                }
                (send.await.unwrap(), bytes)
            });
            let elapsed = start.elapsed();
            *writer = Some(w);
            (elapsed, black_box(bytes))
        }

        /// One request in flight at a time.
        pub fn lock_step(&mut self, first: usize, n: usize) -> (Duration, usize) {
            let lines: Vec<String> = (first..first + n).map(request).collect();
            let Session {
                runtime,
                reader,
                writer,
                line,
            } = self;
            let w = writer.as_mut().unwrap();
            let start = Instant::now();
            let bytes = runtime.block_on(async {
                let mut bytes = 0;
                for request in &lines {
                    w.write_all(request.as_bytes()).await.unwrap();
                    w.write_all(b"\n").await.unwrap();
                    line.clear();
                    bytes += reader.read_until(b'\n', line).await.unwrap();
                }
                bytes
            });
            (start.elapsed(), black_box(bytes))
        }
    }
}

// --- report ---------------------------------------------------------------

struct Row {
    name: &'static str,
    n: usize,
    /// Per-run requests per second, sorted.
    rates: Vec<f64>,
}

impl Row {
    fn median(&self) -> f64 {
        self.rates[self.rates.len() / 2]
    }
}

/// Warms up, then measures `RUNS` runs of `n` requests with fresh ids.
fn measure(
    name: &'static str,
    n: usize,
    mut run: impl FnMut(usize, usize) -> (Duration, usize),
) -> Row {
    let mut next_id = 1;
    let warm = WARM_UP.min(n);
    run(next_id, warm);
    next_id += warm;
    let mut rates: Vec<f64> = (0..RUNS)
        .map(|_| {
            let (elapsed, out) = run(next_id, n);
            next_id += n;
            assert!(out > 0, "{name}: no output");
            n as f64 / elapsed.as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    Row { name, n, rates }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument, if any, is ignored.
    let n: usize = std::env::var("MCP_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let lock_step_n = (n / 4).max(1);

    // Show that both answer the same request with the same kind of result.
    let mut server = mcp_server();
    let mut rmcp = rmcp_side::Session::start();
    let sample = request(0);
    let mcp_reply = server.handle_line(sample.as_bytes()).unwrap();
    println!("request : {sample}");
    println!("mcp     : {mcp_reply}");
    println!("rmcp    : {}", rmcp.exchange(&sample));
    println!();

    let framed = measure("mcp framed (LineFramer + handle_line)", n, |first, n| {
        mcp_framed(&mut server, first, n)
    });
    let lines = measure("mcp handle_line", n, |first, n| {
        mcp_lines(&mut server, first, n)
    });
    let binary = measure("mcp handle_binary (postcard)", n, |first, n| {
        mcp_binary(&mut server, first, n)
    });
    let rmcp_pipelined = measure("rmcp 3.11 pipelined (duplex)", n, |first, n| {
        rmcp.pipelined(first, n)
    });
    let rmcp_lock_step = measure("rmcp 3.11 lock-step (duplex)", lock_step_n, |first, n| {
        rmcp.lock_step(first, n)
    });
    let framer = measure("  of which: LineFramer alone", n, framer_alone);
    let codec = measure("  of which: postcard<->JSON conversions", n, |first, n| {
        binary_codec_alone(&mcp_reply, first, n)
    });

    println!(
        "trivial tools/call, one core, median of {RUNS} runs after {WARM_UP} warm-up requests"
    );
    println!(
        "{:<40} {:>9} {:>12} {:>9} {:>12}",
        "path", "requests", "req/s", "ns/req", "min..max"
    );
    let print = |row: &Row| {
        println!(
            "{:<40} {:>9} {:>12.0} {:>9.0} {:>5.2}..{:.2}M",
            row.name,
            row.n,
            row.median(),
            1e9 / row.median(),
            row.rates[0] / 1e6,
            row.rates[row.rates.len() - 1] / 1e6,
        );
    };
    for row in [&framed, &lines, &binary, &rmcp_pipelined, &rmcp_lock_step] {
        print(row);
    }
    println!("breakdown (no dispatch):");
    for row in [&framer, &codec] {
        print(row);
    }

    let rmcp_best = rmcp_pipelined.median().max(rmcp_lock_step.median());
    println!();
    println!(
        "vs rmcp's better mode: mcp handle_line {:.1}x, mcp framed {:.1}x, mcp handle_binary {:.1}x",
        lines.median() / rmcp_best,
        framed.median() / rmcp_best,
        binary.median() / rmcp_best,
    );
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    for (name, rate) in [("handle_line", lines.median()), ("framed", framed.median())] {
        println!(
            "goals for mcp {name:<11}: >= 1,000,000 req/s per core: {:<7}  >= 10x rmcp: {}",
            verdict(rate >= 1e6),
            verdict(rate >= 10.0 * rmcp_best),
        );
    }
}
