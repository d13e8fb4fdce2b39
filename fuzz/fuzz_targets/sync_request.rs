//! Fuzz target `sync_request`: request bodies (built from parts or any bytes, mutated as JSON text, optionally gzipped) through the server's decoding; what decodes re-encodes to the same request, and the same bytes read as a response by a device never panic.
#![no_main]

use std::cell::RefCell;

use fieldsync_core::sync::{Cursor, PushLimits, Replica, SyncRequest, SyncResponse};
use fieldsync_fuzz::request::{RequestInput, server_decode};
use fieldsync_fuzz::scene::with_scene;
use libfuzzer_sys::fuzz_target;

thread_local! {
    /// Every change chunk of the scene, to put in pushes.
    static CHUNKS: RefCell<Vec<Vec<u8>>> = RefCell::new(with_scene(|s| {
        let mut all: Vec<Vec<u8>> = Vec::new();
        for doc in [&mut s.territory, &mut s.dealer] {
            all.extend(doc.changes_since(&[]).iter().map(|c| c.raw_bytes().to_vec()));
        }
        all
    }));
}

fuzz_target!(|input: RequestInput| {
    let body = CHUNKS.with(|c| input.bytes(&c.borrow()));
    if let Ok((req, _)) = server_decode(&body, input.gzip, &PushLimits::default()) {
        let text = serde_json::to_vec(&req).expect("a decoded request encodes");
        match serde_json::from_slice::<SyncRequest>(&text) {
            Ok(again) => assert_eq!(again, req, "a request survives a round trip"),
            Err(e) => panic!("a decoded request does not decode again: {e}"),
        }
        let cursor = req.cursor.to_string();
        assert_eq!(
            cursor.parse::<Cursor>().ok(),
            Some(req.cursor.clone()),
            "{cursor}"
        );
    }
    if !input.gzip
        && let Ok(resp) = serde_json::from_slice::<SyncResponse>(&body)
        && let Ok(mut replica) = Replica::new()
    {
        let _ = replica.apply_response(&resp);
    }
});
