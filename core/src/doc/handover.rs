//! The incoming manager's review of a handed-over record: a step of its `handover` item, and on accepting, its `owner`, in one change.

use serde_json::{Map, Value as Json, json};

use super::bridge;
use super::document::Document;
use super::error::DocError;
use crate::ids::HandoverId;
use crate::lifecycle::{LifecycleError, Stage};
use crate::model::handover::{check_reason, stage_of};
use crate::model::{Handed, HandoverStage, ItemKind};
use crate::stamp::Stamp;

impl Document {
    /// Reviews record `id` in handover `handover` as `stamp.user` (the incoming
    /// manager): takes `stage` (with `reviewed` first if the item has no review
    /// yet), writes `reason` with `flagged` (required there), and on `accepted`
    /// makes the reviewer the record's `owner`, all in one change. A reason
    /// with another stage is written too, and refused by the schema (`immutable`).
    /// Who may review is the server's rule (`not_incoming`).
    pub fn review<R: Handed>(
        &mut self,
        id: &R::Id,
        handover: &HandoverId,
        stage: HandoverStage,
        reason: Option<&str>,
        stamp: &Stamp,
    ) -> Result<(), DocError> {
        let kind = match R::COLLECTION {
            "commitments" => ItemKind::Commitment,
            "claims" => ItemKind::Claim,
            _ => ItemKind::Problem,
        };
        self.review_item(kind, &id.to_string(), handover, stage, reason, stamp)
    }

    /// As [`Document::review`], for a record named by its kind and id (compiled
    /// once: the phone's binding calls this).
    pub fn review_item(
        &mut self,
        kind: ItemKind,
        id: &str,
        handover: &HandoverId,
        stage: HandoverStage,
        reason: Option<&str>,
        stamp: &Stamp,
    ) -> Result<(), DocError> {
        let collection = kind.collection();
        let obj = self.record_obj(collection, id)?;
        // Only the review's steps are read: the patch touches nothing the record rules check.
        let record = bridge::read(self.automerge(), &obj);
        let current = record
            .get("handover")
            .and_then(|h| h.get(handover.as_str()))
            .and_then(stage_of);
        let step = json!({ "by": stamp.user, "at": stamp.at });
        let mut review = Map::new();
        match current {
            Some(from) if !stage.may_follow(from) => {
                return Err(LifecycleError::NotAllowed {
                    from: from.name(),
                    to: stage.name(),
                }
                .into());
            }
            Some(_) => {}
            None => {
                review.insert(HandoverStage::START.name().into(), step.clone());
            }
        }
        review.insert(stage.name().into(), step);
        let mut item = Map::new();
        item.insert("review".into(), Json::Object(review));
        let reason = reason.filter(|r| !r.is_empty());
        if stage == HandoverStage::Flagged {
            check_reason(reason.unwrap_or(""))?;
        }
        if let Some(r) = reason {
            item.insert("reason".into(), Json::String(r.to_owned()));
        }
        let mut items = Map::new();
        items.insert(handover.to_string(), Json::Object(item));
        let mut patch = Map::new();
        patch.insert("handover".into(), Json::Object(items));
        if stage == HandoverStage::Accepted {
            patch.insert("owner".into(), json!(stamp.user));
        }
        let path = vec![collection.to_owned(), id.to_owned()];
        self.write_at(&obj, path, &patch, stamp)
    }
}
