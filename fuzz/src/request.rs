//! Sync requests as a device sends them (JSON, optionally gzipped), built from parts and then mutated as text; and the server's decoding of a request body.

use std::io::Read;

use arbitrary::Arbitrary;
use fieldsync_core::sync::ingest::decode_changes;
use fieldsync_core::sync::{ChangeBytes, Limits, PushLimits, Rejection, SyncRequest};
use flate2::read::GzDecoder;
use serde_json::{Value, json};

use crate::word::Word;

/// One cursor entry: `territory:seq[/tag]`, or an epoch `@…`.
#[derive(Arbitrary, Debug, Clone)]
pub enum CursorPart {
    Position {
        territory: Word,
        seq: u64,
        tag: Option<u32>,
    },
    Epoch(Word),
    Raw(Word),
}

/// One pushed document: its id and which change chunks it carries.
#[derive(Arbitrary, Debug, Clone)]
pub struct PushPart {
    pub doc: u8,
    pub doc_word: Word,
    /// Indexes into the scene's change chunks.
    pub changes: Vec<u8>,
    /// Bytes that are not a change.
    pub junk: Option<Vec<u8>>,
}

/// A text-level mutation of the JSON body.
#[derive(Arbitrary, Debug, Clone)]
pub enum TextMutation {
    Flip { at: u16, mask: u8 },
    Insert { at: u16, token: u8 },
    Remove { at: u16, len: u8 },
    Truncate { at: u16 },
}

/// JSON fragments worth inserting.
const TOKENS: &[&str] = &[
    "\"",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "null",
    "true",
    "1e999",
    "-0",
    "18446744073709551616",
    "\\u0000",
    "\\ud800",
    "\"protocol\":1,",
    "\"push\":[{}],",
    "[[[[[[[[[[[[[[[[",
    "\"cursor\":\"\",",
    "\"replica\":\"",
    "====",
    "\u{feff}",
];

/// A sync request body: built from parts, or any bytes.
#[derive(Arbitrary, Debug, Clone)]
pub enum Body {
    Built {
        protocol: u8,
        cursor: Vec<CursorPart>,
        push: Vec<PushPart>,
        replica: Word,
        mutations: Vec<TextMutation>,
    },
    Raw(Vec<u8>),
}

/// The whole input: a body, sent gzipped or not (a gzipped body may be cut short).
#[derive(Arbitrary, Debug, Clone)]
pub struct RequestInput {
    pub body: Body,
    pub gzip: bool,
    pub cut: Option<u16>,
}

fn cursor_text(parts: &[CursorPart]) -> String {
    let texts: Vec<String> = parts
        .iter()
        .take(8)
        .map(|p| match p {
            CursorPart::Position {
                territory,
                seq,
                tag,
            } => match tag {
                Some(t) => format!("{}:{seq}/{t:08x}", territory.as_str()),
                None => format!("{}:{seq}", territory.as_str()),
            },
            CursorPart::Epoch(w) => format!("@{}", w.as_str()),
            CursorPart::Raw(w) => w.0.clone(),
        })
        .collect();
    texts.join(",")
}

impl RequestInput {
    /// The bytes on the wire (after Content-Encoding), given the scene's change chunks.
    pub fn bytes(&self, chunks: &[Vec<u8>]) -> Vec<u8> {
        let plain = match &self.body {
            Body::Raw(b) => b.clone(),
            Body::Built {
                protocol,
                cursor,
                push,
                replica,
                mutations,
            } => {
                use base64::Engine;
                let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
                let push: Vec<Value> = push
                    .iter()
                    .take(4)
                    .map(|p| {
                        let doc = match p.doc % 3 {
                            0 => "dealer:d-lin".to_owned(),
                            1 => "territory:t-north".to_owned(),
                            _ => p.doc_word.0.clone(),
                        };
                        let mut changes: Vec<Value> = p
                            .changes
                            .iter()
                            .take(16)
                            .filter_map(|i| chunks.get(*i as usize % chunks.len().max(1)))
                            .map(|c| json!(b64(c)))
                            .collect();
                        if let Some(j) = &p.junk {
                            changes.push(json!(b64(j)));
                        }
                        json!({"doc": doc, "changes": changes})
                    })
                    .collect();
                let protocol = if *protocol < 200 {
                    1
                } else {
                    u32::from(*protocol)
                };
                let body = json!({
                    "protocol": protocol,
                    "cursor": cursor_text(cursor),
                    "push": push,
                    "replica": replica.as_str(),
                });
                let mut text = serde_json::to_vec(&body).expect("JSON");
                for m in mutations.iter().take(4) {
                    let n = text.len();
                    let at = |a: u16, extra: usize| {
                        if n + extra == 0 {
                            0
                        } else {
                            a as usize % (n + extra)
                        }
                    };
                    match m {
                        TextMutation::Flip { at: a, mask } if n > 0 => {
                            let i = at(*a, 0);
                            text[i] ^= mask;
                        }
                        TextMutation::Flip { .. } => {}
                        TextMutation::Insert { at: a, token } => {
                            let i = at(*a, 1);
                            let t = TOKENS[*token as usize % TOKENS.len()].as_bytes();
                            text.splice(i..i, t.iter().copied());
                        }
                        TextMutation::Remove { at: a, len } => {
                            let i = at(*a, 0);
                            let end = (i + *len as usize).min(n);
                            text.drain(i..end);
                        }
                        TextMutation::Truncate { at: a } => {
                            let i = at(*a, 1);
                            text.truncate(i);
                        }
                    }
                }
                text
            }
        };
        if !self.gzip {
            return plain;
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &plain).expect("in memory");
        let mut out = gz.finish().expect("in memory");
        if let Some(cut) = self.cut {
            out.truncate(cut as usize % (out.len() + 1));
        }
        out
    }
}

/// Why the server refuses a request body before deciding on any document.
#[derive(Debug)]
pub enum Refused {
    /// 400 (malformed gzip or JSON, wrong protocol, replica id too long).
    Bad(String),
    /// 413 (over the server's limits).
    TooLarge,
}

/// What the server does with a request body before the database: inflate it
/// (tower-http's request decompression, bounded by the body limit), read the
/// JSON, check the protocol, the replica id and the push limits
/// (`server/src/sync.rs`), then decode every pushed document's changes.
pub fn server_decode(
    body: &[u8],
    gzip: bool,
    limits: &PushLimits,
) -> Result<(SyncRequest, Vec<Result<usize, Rejection>>), Refused> {
    let plain = if gzip {
        let mut out = Vec::new();
        GzDecoder::new(body)
            .take(limits.max_bytes + 1)
            .read_to_end(&mut out)
            .map_err(|e| Refused::Bad(e.to_string()))?;
        if out.len() as u64 > limits.max_bytes {
            return Err(Refused::TooLarge);
        }
        out
    } else {
        body.to_vec()
    };
    let req: SyncRequest =
        serde_json::from_slice(&plain).map_err(|e| Refused::Bad(e.to_string()))?;
    if req.protocol != fieldsync_core::sync::PROTOCOL_VERSION {
        return Err(Refused::Bad("protocol".into()));
    }
    if req.replica.len() > 64 {
        return Err(Refused::Bad("replica".into()));
    }
    let changes: usize = req.push.iter().map(|p| p.changes.len()).sum();
    if req.push.len() as u64 > limits.max_docs || changes as u64 > limits.max_changes {
        return Err(Refused::TooLarge);
    }
    let decoded = req
        .push
        .iter()
        .map(|p| decode_changes(&p.doc, &p.changes, Limits::default()).map(|c| c.len()))
        .collect();
    Ok((req, decoded))
}

/// A change chunk as the wire carries it.
pub fn wire(bytes: &[u8]) -> ChangeBytes {
    ChangeBytes(bytes.to_vec())
}
