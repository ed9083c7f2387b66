//! `kingly chat`: a REPL for people. Plain lines chat with the model on the
//! board (`llm_chat`, the reply streamed token by token from its progress
//! notifications); `/commands` call tools and read resources. The MCP client
//! is rmcp, the official Rust SDK (see `connection`).

mod board;
mod commands;
mod connection;
mod conversation;
mod model;

use std::io::{BufRead, Write};

use kingly::error::{Error, IoContext, Result};
use rmcp::model::{CallToolResult, ResourceContents};
use rmcp::service::ServiceError;
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use commands::Command;
pub use connection::Target;
use connection::{describe_error, is_closed, Connection, Interrupts, Reply};
use conversation::Conversation;

const PROMPT: &str = "you> ";

/// Runs the REPL until `/quit`, end of input or Ctrl-C at the prompt.
pub fn run(target: Target, max_tokens: u32) -> Result<()> {
    // One thread is plenty for one person and one board.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context(|| "start the async runtime".into())?;
    runtime.block_on(session(target, max_tokens))
}

async fn session(target: Target, max_tokens: u32) -> Result<()> {
    let mut interrupts = Interrupts::install().context(|| "catch Ctrl-C".into())?;
    eprintln!(
        "kingly: connecting to {} (Ctrl-C gives up)",
        target.describe()
    );
    let connection = tokio::select! {
        connection = Connection::open(&target) => connection.map_err(Error::Chat)?,
        () = interrupts.next() => return Err(Error::Chat("interrupted before the board answered".into())),
    };
    let mut repl = Repl {
        connection,
        interrupts,
        conversation: Conversation::default(),
        max_tokens,
        model: None,
    };
    let mut outcome = repl.start().await;
    if outcome.is_ok() {
        outcome = repl.run(spawn_stdin_reader()).await;
    }
    repl.connection.close().await;
    outcome
}

struct Repl {
    connection: Connection,
    interrupts: Interrupts,
    conversation: Conversation,
    max_tokens: u32,
    /// The loaded model's one-line description; `None`: no chat.
    model: Option<String>,
}

impl Repl {
    /// The greeting: who answered, the board, the model (loaded if needed).
    async fn start(&mut self) -> Result<()> {
        println!("connected to {}", self.connection.server_description());
        match self.connection.call_quietly("sys_info", Map::new()).await {
            Ok(result) => match result
                .structured_content
                .as_ref()
                .and_then(Value::as_object)
            {
                Some(facts) => println!("{}", board::summary(facts)),
                None => print_result(&result),
            },
            Err(e) if is_closed(&e) => return Err(closed()),
            Err(e) => println!("error: sys_info: {}", describe_error(&e)),
        }
        self.model = match model::ensure_loaded(&mut self.connection, &mut self.interrupts).await {
            Ok(model) => model,
            Err(e) if is_closed(&e) => return Err(closed()),
            Err(e) => {
                println!("error: loading the model: {}", describe_error(&e));
                None
            }
        };
        match &self.model {
            Some(model) => println!("model {model}"),
            None => println!(
                "no model is loaded, so there is no chat; commands work \
                 (`kingly image --model PATH.gguf` puts a model on the card)"
            ),
        }
        println!("type a message, or /help; Ctrl-C stops a reply; /quit or Ctrl-D leaves");
        Ok(())
    }

    async fn run(&mut self, mut lines: mpsc::UnboundedReceiver<String>) -> Result<()> {
        loop {
            print!("{PROMPT}");
            flush();
            self.interrupts.forget();
            let line = tokio::select! {
                line = lines.recv() => line,
                () = self.interrupts.next() => None,
            };
            let Some(line) = line else {
                // End of input or Ctrl-C at the prompt.
                println!();
                return Ok(());
            };
            let command = match commands::parse(&line) {
                Ok(command) => command,
                Err(message) => {
                    println!("{message}");
                    continue;
                }
            };
            let outcome = match command {
                Command::Nothing => Ok(()),
                Command::Quit => return Ok(()),
                Command::Help => {
                    println!("{}", commands::HELP);
                    Ok(())
                }
                Command::Chat(text) => self.chat(text).await,
                Command::Tools => self.tools().await,
                Command::Call { name, arguments } => self.call(&name, arguments).await,
                Command::Read(uri) => self.read(&uri).await,
                Command::Info => self.info().await,
                Command::Reset => {
                    println!("forgot {} exchanges", self.conversation.len());
                    self.conversation.clear();
                    Ok(())
                }
                Command::MaxTokens(Some(n)) => {
                    self.max_tokens = n;
                    println!("replies stop after {n} tokens");
                    Ok(())
                }
                Command::MaxTokens(None) => {
                    println!("replies stop after {} tokens", self.max_tokens);
                    Ok(())
                }
            };
            if let Err(e) = outcome {
                if is_closed(&e) {
                    return Err(closed());
                }
                println!("error: {}", describe_error(&e));
            }
        }
    }

    /// A chat turn: the reply streams as the tokens come.
    async fn chat(&mut self, text: String) -> Result<(), ServiceError> {
        if self.model.is_none() {
            println!("no model is loaded, so there is no chat; /help lists the commands");
            return Ok(());
        }
        let arguments = self.conversation.arguments(&text, self.max_tokens);
        let mut streamed = false;
        let reply = self
            .connection
            .call("llm_chat", arguments, &mut self.interrupts, |progress| {
                if let Some(piece) = &progress.message {
                    print!("{piece}");
                    flush();
                    streamed = true;
                }
            })
            .await;
        if streamed {
            println!();
        }
        match reply? {
            Reply::Cancelled => println!("(stopped; this exchange is not kept)"),
            Reply::Done(result) if result.is_error == Some(true) => {
                println!("error: {}", result_text(&result));
            }
            Reply::Done(result) => {
                let out = result.structured_content.unwrap_or_default();
                let reply = out["text"].as_str().unwrap_or_default().to_owned();
                if !streamed {
                    println!("{reply}");
                }
                match out["stop_reason"].as_str() {
                    Some("max_tokens") => {
                        println!("(cut at {} tokens; /max N allows more)", self.max_tokens)
                    }
                    Some("context") => println!("(the context is full; /reset starts over)"),
                    _ => {}
                }
                self.conversation.push(text, reply);
            }
        }
        Ok(())
    }

    async fn tools(&mut self) -> Result<(), ServiceError> {
        for tool in self.connection.tools().await? {
            let title = tool.title.as_deref().unwrap_or_default();
            println!("  {:<22} {title}", tool.name);
        }
        Ok(())
    }

    /// `/call`: progress with a message (tokens) streams; other progress is
    /// a percentage on one line. Ctrl-C cancels.
    async fn call(
        &mut self,
        name: &str,
        arguments: Map<String, Value>,
    ) -> Result<(), ServiceError> {
        let mut line_open = false;
        let reply = self
            .connection
            .call(name, arguments, &mut self.interrupts, |progress| {
                match (&progress.message, progress.total) {
                    (Some(piece), _) => print!("{piece}"),
                    (None, Some(total)) if total > 0.0 => {
                        print!("\r{:.0}%", 100.0 * progress.progress / total)
                    }
                    (None, _) => print!("\r{}", progress.progress),
                }
                flush();
                line_open = true;
            })
            .await;
        if line_open {
            println!();
        }
        match reply? {
            Reply::Cancelled => println!("(cancelled)"),
            Reply::Done(result) => print_result(&result),
        }
        Ok(())
    }

    async fn read(&mut self, uri: &str) -> Result<(), ServiceError> {
        for contents in self.connection.read(uri).await?.contents {
            match contents {
                ResourceContents::TextResourceContents {
                    text, mime_type, ..
                } => {
                    // JSON (kingly://board, kingly://metrics) reads better indented.
                    let json = mime_type.as_deref() == Some("application/json");
                    match serde_json::from_str::<Value>(&text) {
                        Ok(value) if json => println!("{}", pretty(&value)),
                        _ => println!("{}", text.trim_end()),
                    }
                }
                ResourceContents::BlobResourceContents {
                    blob, mime_type, ..
                } => println!(
                    "({} base64 characters of {})",
                    blob.len(),
                    mime_type.as_deref().unwrap_or("binary data")
                ),
                // Kinds newer than this client: as JSON.
                other => println!("{}", serde_json::to_string(&other).unwrap_or_default()),
            }
        }
        Ok(())
    }

    async fn info(&mut self) -> Result<(), ServiceError> {
        let result = self.connection.call_quietly("sys_info", Map::new()).await?;
        match result
            .structured_content
            .as_ref()
            .and_then(Value::as_object)
        {
            Some(facts) => print!("board\n{}", board::table(facts)),
            None => print_result(&result),
        }
        let result = self.connection.call_quietly("llm_info", Map::new()).await?;
        match result
            .structured_content
            .as_ref()
            .and_then(Value::as_object)
        {
            Some(facts) if result.is_error != Some(true) => {
                print!("model\n{}", board::table(facts))
            }
            _ => println!("model\n  {}", result_text(&result)),
        }
        println!(
            "conversation\n  {} exchanges, replies up to {} tokens",
            self.conversation.len(),
            self.max_tokens
        );
        Ok(())
    }
}

/// A tool result: structuredContent as JSON, else its text; an error says so.
fn print_result(result: &CallToolResult) {
    let shown = match &result.structured_content {
        Some(structured) if result.is_error != Some(true) => pretty(structured),
        _ => result_text(result),
    };
    match result.is_error {
        Some(true) => println!("error: the tool says: {shown}"),
        _ => println!("{shown}"),
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// The text blocks of a result, one a line; other blocks as JSON.
fn result_text(result: &CallToolResult) -> String {
    let lines: Vec<String> = result
        .content
        .iter()
        .map(|block| match block.as_text() {
            Some(text) => text.text.clone(),
            None => serde_json::to_string(block).unwrap_or_default(),
        })
        .collect();
    lines.join("\n")
}

fn closed() -> Error {
    Error::Chat("the connection to the board closed (did QEMU or the bridge stop?)".into())
}

fn flush() {
    let _ = std::io::stdout().flush();
}

/// Lines typed on stdin, from a thread of their own: a blocking read must not
/// hold up the runtime, which streams replies and watches for Ctrl-C
/// meanwhile. (A plain thread, not `spawn_blocking`: the runtime would wait
/// for that read when it shuts down.) The channel closes at end of input.
fn spawn_stdin_reader() -> mpsc::UnboundedReceiver<String> {
    let (sender, receiver) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        for line in stdin.lock().lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}
