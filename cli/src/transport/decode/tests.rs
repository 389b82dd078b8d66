use super::*;

/// The reply to `line`, parsed, or a panic if `line` was not answered.
fn reply(line: &[u8]) -> Value {
    match decode(line) {
        Decoded::Reply(r) => serde_json::from_str(&r).unwrap(),
        other => panic!("{other:?} for {}", String::from_utf8_lossy(line)),
    }
}

fn is_message(line: &[u8]) -> bool {
    matches!(decode(line), Decoded::Message(_))
}

/// A `tools/call` request with id 7 whose `arguments.name` is `bad` (raw JSON bytes).
fn call_with(bad: &[u8]) -> Vec<u8> {
    [
        &br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"scripts_run","arguments":{"name":"#[..],
        bad,
        b"}}}",
    ]
    .concat()
}

#[test]
fn valid_messages_pass_and_a_bom_and_a_cr_are_skipped() {
    for ok in [
        &br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#[..],
        b"\xEF\xBB\xBF{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}",
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\r",
        br#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"\ud83d\ude00"}}"#,
        br#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"scripts_list","arguments":{}}}"#,
        br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        // An unknown method is rmcp's to answer (-32601).
        br#"{"jsonrpc":"2.0","id":3,"method":"no/such/method","params":{}}"#,
    ] {
        assert!(is_message(ok), "{}", String::from_utf8_lossy(ok));
    }
    for blank in [&b""[..], b"   \r", b"\xEF\xBB\xBF", b"\t"] {
        assert!(matches!(decode(blank), Decoded::Skip), "{blank:?}");
    }
}

#[test]
fn no_json_is_a_parse_error_without_an_id() {
    for bad in [&b"{not json"[..], b"{\"a\":", b"\xff\xfe", b"{} trailing"] {
        let v = reply(bad);
        assert_eq!(v["error"]["code"], -32700, "{v}");
        assert_eq!(v["jsonrpc"], "2.0");
        assert!(v.get("id").is_none(), "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("Parse error: "),
            "{v}"
        );
    }
}

/// Each of these is JSON to a lenient reader but not to rmcp's decode, which dropped it
/// without a reply: the client waited forever.
#[test]
fn undecodable_requests_get_a_parse_error_with_their_id() {
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let cases = [
        ("invalid UTF-8 in a string", call_with(b"\"a\xffb\"")),
        ("lone surrogate", call_with(br#""\ud800""#)),
        ("number out of range", call_with(b"1e999")),
        ("nesting over 128", call_with(deep.as_bytes())),
    ];
    for (what, line) in &cases {
        let v = reply(line);
        assert_eq!(v["error"]["code"], -32700, "{what}: {v}");
        assert_eq!(v["id"], 7, "{what}: {v}");
    }
    let top_level_deep = reply(deep.as_bytes());
    assert_eq!(top_level_deep["error"]["code"], -32700);
    assert!(top_level_deep.get("id").is_none(), "{top_level_deep}");
    for no_id in [
        &br#"{"jsonrpc":"2.0","method":"tools/call","params":{"n":1e999}}"#[..],
        br#"{"jsonrpc":"2.0","id":7,"params":{"n":1e999}}"#, // no method: not a request
        br#"{"jsonrpc":"2.0","id":"\ud800","method":"ping"}"#, // the id itself is bad
        b"\xff{}",
    ] {
        let v = reply(no_id);
        assert_eq!(v["error"]["code"], -32700, "{v}");
        assert!(v.get("id").is_none(), "{v}");
    }
    let v = reply(br#"{"id":"req-1","jsonrpc":"2.0","method":"ping","params":{"x":"\udfff"}}"#);
    assert_eq!(v["id"], "req-1", "{v}");
}

/// serde_json said "unexpected end of hex escape at line 1 column 98": nothing about a
/// surrogate. The message says what is wrong and where.
#[test]
fn a_lone_surrogate_is_named_with_its_position() {
    let line = call_with(br#""ab\ud800""#);
    let at = line.windows(6).position(|w| w == br"\ud800").unwrap();
    let v = reply(&line);
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains(r"lone surrogate \ud800"), "{msg}");
    assert!(msg.contains(&format!("(byte {at})")), "{msg}");
    assert!(msg.contains(&format!("column {}", at + 1)), "{msg}");
    // A low half alone, and a high half followed by something else than a low half.
    for (text, escape) in [
        (&br#""\udc00x""#[..], r"\udc00"),
        (br#""\uD83D\u0041""#, r"\uD83D"),
    ] {
        let msg = reply(&call_with(text))["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(msg.contains(&format!("lone surrogate {escape}")), "{msg}");
    }
    // After a BOM, the byte offset counts the BOM.
    let with_bom = [&b"\xEF\xBB\xBF"[..], &line].concat();
    let msg = reply(&with_bom)["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(msg.contains(&format!("(byte {})", at + 3)), "{msg}");
}

#[test]
fn the_scanner_finds_only_lone_halves_inside_strings() {
    assert_eq!(lone_surrogate(br#"{"a":"\ud800"}"#), Some(Lone { at: 6 }));
    assert_eq!(lone_surrogate(br#"{"a":"\ud83d\ude00"}"#), None);
    assert_eq!(
        lone_surrogate(br#"{"a":"\\ud800"}"#),
        None,
        "an escaped backslash"
    );
    assert_eq!(lone_surrogate(br#"{"a":"\"\ud800"}"#), Some(Lone { at: 8 }));
    assert_eq!(lone_surrogate(br#"{"a":"\u00e9\n"}"#), None);
    assert_eq!(lone_surrogate(br#"{"a":"\ud800"#), Some(Lone { at: 6 }));
}

/// `"arguments": [1]` decoded as an unknown custom method and got -32601 "tools/call".
#[test]
fn params_that_do_not_fit_a_known_method_are_invalid_params_naming_the_tool() {
    let v = reply(
        br#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"scripts_run","arguments":[1]}}"#,
    );
    assert_eq!(v["error"]["code"], -32602, "{v}");
    assert_eq!(v["id"], 5, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("\"scripts_run\""), "{msg}");
    assert!(msg.contains("\"arguments\" must be an object"), "{msg}");
    assert!(msg.contains("not an array"), "{msg}");
    let v = reply(br#"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"arguments":{}}}"#);
    assert_eq!(v["error"]["code"], -32602, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("name"),
        "{v}"
    );
    let v = reply(br#"{"jsonrpc":"2.0","id":"x","method":"resources/read","params":{"uri":5}}"#);
    assert_eq!(v["error"]["code"], -32602, "{v}");
    assert_eq!(v["id"], "x");
}

/// Valid JSON that is no valid message: -32600, with the id of a request; a notification is
/// never answered.
#[test]
fn invalid_requests_are_answered_and_notifications_are_not() {
    let v = reply(br#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":5}"#);
    assert_eq!(v["error"]["code"], -32600, "{v}");
    assert_eq!(v["id"], 9, "{v}");
    let v = reply(br#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":5} {}"#);
    assert_eq!(v["error"]["code"], -32700, "{v}");
    for no_id in [
        &b"42"[..],
        br#"{"hello":"world"}"#,
        br#"{"jsonrpc":"2.0","id":3,"result":{},"error":{}}"#, // a response: its id is ours
    ] {
        let v = reply(no_id);
        assert_eq!(v["error"]["code"], -32600, "{v}");
        assert!(v.get("id").is_none(), "{v}");
    }
    for notification in [
        &br#"{"jsonrpc":"2.0","method":"notifications/progress","params":5}"#[..],
        br#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":1}}"#,
        br#"{"method":"x","params":7}"#,
    ] {
        assert!(
            !matches!(decode(notification), Decoded::Reply(_)),
            "{}",
            String::from_utf8_lossy(notification)
        );
    }
}

/// A peer that echoes what it gets sends our replies back: each decodes as a message (an
/// error response, which rmcp drops), so no reply to a reply.
#[test]
fn replies_decode_as_messages() {
    for line in [
        call_with(b"1e999"),
        b"not json".to_vec(),
        br#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":5}"#.to_vec(),
        br#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"a","arguments":[1]}}"#
            .to_vec(),
    ] {
        let Decoded::Reply(r) = decode(&line) else {
            panic!()
        };
        assert!(is_message(r.as_bytes()), "{r}");
    }
}
