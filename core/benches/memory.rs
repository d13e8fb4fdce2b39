//! Heap used by loaded dealer documents, measured with dhat's allocator (run with `cargo bench --bench memory`).

mod fixtures;

use fieldsync_core::automerge::ActorId;
use fieldsync_core::doc::Document;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    for visits in [0usize, 500] {
        let bytes = fixtures::dealer_with_visits(visits).save();
        let before = dhat::HeapStats::get();
        let doc = Document::load(&bytes, ActorId::from(b"reader".to_vec())).unwrap();
        let loaded = dhat::HeapStats::get();
        let state = doc.dealer_state().unwrap();
        let read = dhat::HeapStats::get();
        println!(
            "dealer doc, {visits} visits: {} bytes on disk; heap held after load {:.1} KB (peak during load {:.1} KB); typed state adds {:.1} KB",
            bytes.len(),
            (loaded.curr_bytes - before.curr_bytes) as f64 / 1024.0,
            (loaded.max_bytes.saturating_sub(before.curr_bytes)) as f64 / 1024.0,
            (read.curr_bytes - loaded.curr_bytes) as f64 / 1024.0,
        );
        drop(state);
        drop(doc);
    }
}
