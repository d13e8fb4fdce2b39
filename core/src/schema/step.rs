//! `Stepper`: each pushed change's edits in turn, from Automerge's indexed diff where the change follows on the heads so far.
//!
//! The schema checks a pushed change by what `diff(deps, [change])` shows it did.
//! Done on the document holding the whole push, that diff scans every op of the
//! document, so a push of N changes to a document of N ops costs N² (a territory
//! whose index gains a thousand dealers in one upload). The stepper holds a second
//! copy that starts as the server stored it and takes the pushed changes one at a
//! time, in causal order, with Automerge's patch log on: where a change's
//! dependencies are exactly the copy's heads (one device's chain, the usual case),
//! the copy was the document as the change's author saw it and becomes the
//! document at the change, so the patches logged while applying it are that same
//! diff, read from the index. Any other change (concurrent branches, a change that
//! would not apply) gets the full diff on the merged document, as before.

use automerge::{AutoCommit, Change, ChangeHash};

use super::edit::{Edit, from_patches};

/// The document as it was before each pushed change, stepped through the push.
#[derive(Debug)]
pub struct Stepper {
    doc: AutoCommit,
    indexed: usize,
    /// Automerge panicked applying a change to the copy: no more indexed diffs.
    broken: bool,
    /// The change the copy's heads are, alone, if any (`holding`).
    at: Option<ChangeHash>,
}

impl Stepper {
    /// Starts from `stored`, the document as the server held it (`None`: the push creates it).
    pub fn new(stored: Option<&AutoCommit>) -> Self {
        let mut doc = stored.cloned().unwrap_or_default();
        doc.update_diff_cursor();
        Stepper {
            doc,
            indexed: 0,
            broken: false,
            at: None,
        }
    }

    /// How many changes' edits came from the index so far.
    pub fn indexed(&self) -> usize {
        self.indexed
    }

    /// The edits of `change`, the next pushed change in causal order; `merged`
    /// holds every change of the push (for a change that does not follow on).
    pub fn edits(&mut self, change: &Change, merged: &mut AutoCommit) -> Vec<Edit> {
        let follows = !self.broken && same(&self.doc.get_heads(), change.deps());
        let holds = self.apply(change) && self.doc.get_heads() == [change.hash()];
        self.at = holds.then(|| change.hash());
        if follows && holds {
            self.indexed += 1;
            return from_patches(self.doc.diff_incremental());
        }
        self.doc.update_diff_cursor();
        from_patches(merged.diff(change.deps(), &[change.hash()]))
    }

    /// The copy if it is now the document at `change` (its heads are that change
    /// alone): the change's checks read it as it is, not at given heads, and a
    /// read of the copy at the change's dependencies walks less history than one of
    /// the merged document.
    pub fn holding(&self, change: &Change) -> Option<&AutoCommit> {
        (self.at == Some(change.hash())).then_some(&self.doc)
    }

    /// Takes in a change that is not checked (fieldsync's own skeleton).
    pub fn pass(&mut self, change: &Change) {
        self.at = None;
        self.apply(change);
        self.doc.update_diff_cursor();
    }

    /// Applies one change to the copy. Automerge can panic on a change applied
    /// alone that it would take in a batch (an actor whose first change it has not
    /// seen yet): the copy is then given up and every later change gets the full diff.
    fn apply(&mut self, change: &Change) -> bool {
        if self.broken {
            return false;
        }
        let doc = &mut self.doc;
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            doc.apply_changes([change.clone()]).is_ok()
        }));
        self.broken = ok.is_err();
        ok.unwrap_or(false)
    }
}

/// Whether two lists of heads name the same changes.
fn same(heads: &[ChangeHash], deps: &[ChangeHash]) -> bool {
    let mut a = heads.to_vec();
    let mut b = deps.to_vec();
    a.sort_unstable();
    b.sort_unstable();
    a == b
}
