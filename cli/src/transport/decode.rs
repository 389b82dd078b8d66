//! One incoming line → one MCP message for rmcp, or the JSON-RPC error reply that says what
//! is wrong with it, in the user's terms and where.
//!
//! - Not JSON (a syntax error, invalid UTF-8, a lone surrogate, text after the value): `-32700
//!   Parse error`. rmcp's own transports drop such a line without a word, and a client that
//!   sent a truncated or mangled request then waits forever.
//! - JSON that is no JSON-RPC message (`{"hello":1}`, `42`, a request whose `params` is a
//!   number): `-32600 Invalid Request`.
//! - A request for a method rmcp knows whose `params` do not fit it (`"arguments": [1]` in a
//!   `tools/call`): `-32602 Invalid params`, naming the tool. rmcp would take it for an unknown
//!   custom method and answer `-32601`.
//! - A notification is never answered (JSON-RPC 2.0), whatever is wrong with it: it is dropped.
//!
//! A reply carries the request's `id` when it can still be read from the line (a well-formed
//! object whose only fault lies elsewhere), and none otherwise, as MCP 2025-11-25 and
//! 2026-07-28 specify (JSON-RPC 2.0 would send `"id": null`, which MCP does not allow). An
//! `id` is only taken from something with a `method` (a request), never from a response, whose
//! `id` belongs to the server's own requests. Every reply is itself a message this decoder
//! accepts (an error response, which rmcp drops), so a peer that echoes what it gets causes no
//! storm of replies to replies.

use rmcp::RoleServer;
use rmcp::model::{
    CallToolRequestMethod, CallToolRequestParams, CancelTaskMethod, ClientRequest,
    CompleteRequestMethod, ConstString, CustomRequest, DiscoverRequestMethod, ErrorCode, ErrorData,
    GetPromptRequestMethod, GetSkillRequestMethod, GetTaskMethod, InitializeResultMethod,
    JsonRpcError, JsonRpcMessage, ListPromptsRequestMethod, ListResourceTemplatesRequestMethod,
    ListResourcesRequestMethod, ListSkillsRequestMethod, ListToolsRequestMethod, PingRequestMethod,
    ReadResourceDirectoryRequestMethod, ReadResourceRequestMethod, RequestId,
    SetLevelRequestMethod, SubscribeRequestMethod, SubscriptionsListenRequestMethod,
    UnsubscribeRequestMethod, UpdateTaskMethod,
};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;
use serde_json::error::Category;

use crate::safe::clip;

/// The UTF-8 byte order mark, skipped at the start of a line (RFC 8259 §8.1 allows it).
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// What to do with one line.
#[derive(Debug)]
pub enum Decoded {
    /// A message for rmcp.
    Message(Box<RxJsonRpcMessage<RoleServer>>),
    /// Answer with this error reply (one line, no `\n`); nothing goes to rmcp.
    Reply(String),
    /// Blank, or a faulty notification: nothing to do.
    Skip,
}

/// Decodes one line (without its `\n`).
pub fn decode(line: &[u8]) -> Decoded {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let body = line.strip_prefix(UTF8_BOM).unwrap_or(line);
    let skipped = line.len() - body.len();
    if body.iter().all(u8::is_ascii_whitespace) {
        return Decoded::Skip;
    }
    if let Err(e) = std::str::from_utf8(body) {
        let at = skipped + e.valid_up_to();
        return Decoded::Reply(error_reply(
            ErrorCode::PARSE_ERROR,
            request_id(body),
            format!("Parse error: invalid UTF-8 at byte {at}: JSON text must be UTF-8"),
        ));
    }
    let e = match serde_json::from_slice::<RxJsonRpcMessage<RoleServer>>(body) {
        Ok(JsonRpcMessage::Request(req)) => {
            if let ClientRequest::CustomRequest(custom) = &req.request
                && is_known_method(&custom.method)
            {
                return Decoded::Reply(error_reply(
                    ErrorCode::INVALID_PARAMS,
                    Some(req.id.clone()),
                    invalid_params(custom),
                ));
            }
            return Decoded::Message(Box::new(JsonRpcMessage::Request(req)));
        }
        Ok(message) => return Decoded::Message(Box::new(message)),
        Err(e) => e,
    };
    match e.classify() {
        Category::Syntax | Category::Eof => Decoded::Reply(error_reply(
            ErrorCode::PARSE_ERROR,
            request_id(body),
            syntax_message(body, skipped, &e),
        )),
        Category::Data | Category::Io => {
            // The typed parse stops at the first mismatch: text after a complete value
            // (`{} trailing`) is still no JSON.
            if let Err(syntax) = serde_json::from_slice::<IgnoredAny>(body) {
                return Decoded::Reply(error_reply(
                    ErrorCode::PARSE_ERROR,
                    None,
                    syntax_message(body, skipped, &syntax),
                ));
            }
            let probe = Probe::of(body);
            if probe.as_ref().is_some_and(Probe::is_notification) {
                return Decoded::Skip;
            }
            Decoded::Reply(error_reply(
                ErrorCode::INVALID_REQUEST,
                probe.and_then(Probe::request_id),
                format!(
                    "Invalid Request: {} (a JSON-RPC 2.0 request is an object with \"jsonrpc\": \"2.0\", an \"id\", a \"method\" and object \"params\")",
                    clip(&e.to_string())
                ),
            ))
        }
    }
}

/// A JSON-RPC error reply line.
pub fn error_reply(code: ErrorCode, id: Option<RequestId>, message: String) -> String {
    let reply: TxJsonRpcMessage<RoleServer> =
        JsonRpcMessage::Error(JsonRpcError::new(id, ErrorData::new(code, message, None)));
    // An error response of strings and numbers always serializes.
    serde_json::to_string(&reply).unwrap_or_default()
}

/// The request methods rmcp decodes into typed requests: a request for one of these that
/// decoded as a custom request had `params` that do not fit the method.
fn is_known_method(method: &str) -> bool {
    [
        PingRequestMethod::VALUE,
        InitializeResultMethod::VALUE,
        DiscoverRequestMethod::VALUE,
        CompleteRequestMethod::VALUE,
        SetLevelRequestMethod::VALUE,
        GetPromptRequestMethod::VALUE,
        ListPromptsRequestMethod::VALUE,
        ListResourcesRequestMethod::VALUE,
        ListResourceTemplatesRequestMethod::VALUE,
        ReadResourceRequestMethod::VALUE,
        SubscriptionsListenRequestMethod::VALUE,
        SubscribeRequestMethod::VALUE,
        UnsubscribeRequestMethod::VALUE,
        CallToolRequestMethod::VALUE,
        ListToolsRequestMethod::VALUE,
        GetTaskMethod::VALUE,
        UpdateTaskMethod::VALUE,
        CancelTaskMethod::VALUE,
        ListSkillsRequestMethod::VALUE,
        GetSkillRequestMethod::VALUE,
        ReadResourceDirectoryRequestMethod::VALUE,
    ]
    .contains(&method)
}

/// What is wrong with the `params` of a known method, naming the tool of a `tools/call`.
fn invalid_params(custom: &CustomRequest) -> String {
    let method = clip(&custom.method);
    if custom.method != CallToolRequestMethod::VALUE {
        return format!("Invalid params: the params of {method:?} do not fit the method");
    }
    let params = custom.params.as_ref();
    let detail = match params.and_then(|p| p.get("arguments")) {
        Some(a) if !a.is_object() && !a.is_null() => format!(
            "\"arguments\" must be an object of the tool's named arguments, not {}",
            kind(a)
        ),
        _ => match serde_json::from_value::<CallToolRequestParams>(
            params.cloned().unwrap_or(Value::Null),
        ) {
            Err(e) => clip(&e.to_string()).into_owned(),
            Ok(_) => "they do not fit tools/call".to_owned(),
        },
    };
    match params.and_then(|p| p.get("name")).and_then(Value::as_str) {
        Some(tool) => format!("Invalid params for tool {:?}: {detail}", clip(tool)),
        None => format!("Invalid params for tools/call: {detail}"),
    }
}

/// `an array`, `a string`…: what a JSON value is, for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The `-32700` message for a syntax error: a lone surrogate said as such, with where it is;
/// anything else as serde_json says it (with its line and column).
fn syntax_message(body: &[u8], skipped: usize, e: &serde_json::Error) -> String {
    if let Some(lone) = lone_surrogate(body)
        && e.line() == 1
        && lone.at < e.column()
    {
        let escape = String::from_utf8_lossy(&body[lone.at..lone.at + 6]);
        let at = skipped + lone.at;
        return format!(
            "Parse error: lone surrogate {escape} in a string at line 1, column {} (byte {at}): \
             a JSON string may hold \\ud800-\\udfff escapes only as a high-low pair; send the \
             character as UTF-8 or as a complete pair",
            at + 1
        );
    }
    format!("Parse error: {e} (each JSON-RPC message must be one JSON value on one line)")
}

/// A `\uXXXX` escape of a UTF-16 surrogate without its other half.
#[derive(Debug, PartialEq, Eq)]
struct Lone {
    /// Offset of its backslash.
    at: usize,
}

/// The first lone surrogate escape inside a JSON string of `text`, if any. Only escapes are
/// looked at: the bytes are valid UTF-8 (checked before), so no raw surrogate can occur.
fn lone_surrogate(text: &[u8]) -> Option<Lone> {
    let hex = |at: usize| -> Option<u16> {
        let digits = text.get(at..at + 4)?;
        u16::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    };
    let escape_at =
        |at: usize| -> Option<u16> { (text.get(at..at + 2) == Some(b"\\u")).then(|| hex(at + 2))? };
    let mut in_string = false;
    let mut i = 0;
    while i < text.len() {
        match (in_string, text[i]) {
            (false, b'"') | (true, b'"') => in_string = !in_string,
            (true, b'\\') => {
                match escape_at(i) {
                    Some(0xD800..=0xDBFF) => match escape_at(i + 6) {
                        Some(0xDC00..=0xDFFF) => i += 6,
                        _ => return Some(Lone { at: i }),
                    },
                    Some(0xDC00..=0xDFFF) => return Some(Lone { at: i }),
                    _ => {}
                }
                // Skip the escaped byte (a `\"` does not end the string).
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// `id` and `method` of an object, every other member skipped unvalidated, so a line whose
/// fault lies elsewhere (a bad string or number in `params`) still yields them.
#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    method: Option<IgnoredAny>,
}

impl Probe {
    /// `None` for anything that is not an object (the derive would also read an array).
    fn of(body: &[u8]) -> Option<Probe> {
        if body.trim_ascii_start().first() != Some(&b'{') {
            return None;
        }
        serde_json::from_slice(body).ok()
    }

    fn is_notification(&self) -> bool {
        self.method.is_some() && self.id.is_none()
    }

    /// The id of a request (an object with a `method`), when it is a string or an integer.
    fn request_id(self) -> Option<RequestId> {
        self.method?;
        serde_json::from_value(self.id?).ok()
    }
}

/// The id of the request on `body`, read as leniently as possible.
fn request_id(body: &[u8]) -> Option<RequestId> {
    Probe::of(body)?.request_id()
}

#[cfg(test)]
mod tests;
