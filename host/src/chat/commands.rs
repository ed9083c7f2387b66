//! What a typed line means: a chat turn, or a `/command`.

use serde_json::{Map, Value};

pub const HELP: &str = "\
Type a message to chat with the model on the board; Ctrl-C stops a reply.
commands:
  /help                 this text
  /tools                the board's tools (name and title)
  /call NAME {JSON}     call a tool, e.g.  /call sys_info {}  (Ctrl-C cancels)
  /read URI             read a resource, e.g.  /read kingly://log
  /info                 the board's facts and the loaded model
  /reset                forget the conversation
  /max [N]              show or set the longest reply, in tokens
  /quit                 stop the board's connection and leave (so do Ctrl-D,
                        and Ctrl-C at the prompt)";

#[derive(Debug, PartialEq)]
pub enum Command {
    /// An empty line: nothing to do.
    Nothing,
    Chat(String),
    Help,
    Tools,
    Call {
        name: String,
        arguments: Map<String, Value>,
    },
    Read(String),
    Info,
    Reset,
    MaxTokens(Option<u32>),
    Quit,
}

/// A line as typed; `Err` is what to tell the user (a usage line, a JSON
/// error) when it cannot be understood.
pub fn parse(line: &str) -> Result<Command, String> {
    let line = line.trim();
    let Some(command) = line.strip_prefix('/') else {
        return Ok(match line {
            "" => Command::Nothing,
            _ => Command::Chat(line.to_owned()),
        });
    };
    let (word, rest) = command
        .split_once(char::is_whitespace)
        .map_or((command, ""), |(w, r)| (w, r.trim()));
    match word {
        "help" | "?" => Ok(Command::Help),
        "tools" => Ok(Command::Tools),
        "call" => call(rest),
        "read" if !rest.is_empty() => Ok(Command::Read(rest.to_owned())),
        "read" => Err("usage: /read URI, e.g. /read kingly://board".into()),
        "info" => Ok(Command::Info),
        "reset" => Ok(Command::Reset),
        "max" if rest.is_empty() => Ok(Command::MaxTokens(None)),
        "max" => match rest.parse::<u32>() {
            Ok(n) if n > 0 => Ok(Command::MaxTokens(Some(n))),
            _ => Err(format!(
                "/max takes a number of tokens above 0, not `{rest}`"
            )),
        },
        "quit" | "exit" => Ok(Command::Quit),
        other => Err(format!("unknown command /{other}; /help lists them")),
    }
}

/// `/call NAME [JSON object]`: no JSON means no arguments.
fn call(rest: &str) -> Result<Command, String> {
    let (name, json) = rest
        .split_once(char::is_whitespace)
        .map_or((rest, ""), |(n, j)| (n, j.trim()));
    if name.is_empty() {
        return Err("usage: /call NAME {JSON arguments}, e.g. /call sys_info {}".into());
    }
    let arguments = match json {
        "" => Map::new(),
        json => match serde_json::from_str::<Value>(json) {
            Ok(Value::Object(arguments)) => arguments,
            Ok(other) => {
                return Err(format!(
                    "the arguments must be a JSON object like {{\"key\": 1}}, not {other}"
                ))
            }
            Err(e) => return Err(format!("the arguments are not JSON: {e}")),
        },
    };
    Ok(Command::Call {
        name: name.to_owned(),
        arguments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_lines_are_chat_turns() {
        assert_eq!(
            parse("  hello there \n"),
            Ok(Command::Chat("hello there".into()))
        );
        assert_eq!(parse("   "), Ok(Command::Nothing));
    }

    #[test]
    fn commands_and_their_arguments() {
        assert_eq!(parse("/help"), Ok(Command::Help));
        assert_eq!(parse("/quit"), Ok(Command::Quit));
        assert_eq!(parse("/max"), Ok(Command::MaxTokens(None)));
        assert_eq!(parse("/max 32"), Ok(Command::MaxTokens(Some(32))));
        assert!(parse("/max 0").is_err());
        assert_eq!(
            parse("/read kingly://log"),
            Ok(Command::Read("kingly://log".into()))
        );
        assert!(parse("/read").is_err());
        assert!(parse("/frobnicate").unwrap_err().contains("/help"));
    }

    #[test]
    fn call_takes_a_json_object() {
        let Ok(Command::Call { name, arguments }) =
            parse(r#"/call gpio_read {"pin": 17, "x": [1, 2]}"#)
        else {
            panic!("not a call");
        };
        assert_eq!(name, "gpio_read");
        assert_eq!(Value::Object(arguments), json!({"pin": 17, "x": [1, 2]}));
        assert_eq!(
            parse("/call sys_info"),
            Ok(Command::Call {
                name: "sys_info".into(),
                arguments: Map::new()
            })
        );
        assert!(parse("/call sys_info {nope")
            .unwrap_err()
            .contains("not JSON"));
        assert!(parse("/call sys_info [1]")
            .unwrap_err()
            .contains("JSON object"));
        assert!(parse("/call").unwrap_err().starts_with("usage"));
    }
}
