//! The incoming manager's review of a handed-over record: a step of its `handover` item, and on accepting, its `owner`, in one change.

use serde_json::{Map, Value as Json, json};

use super::document::Document;
use super::error::DocError;
use crate::ids::HandoverId;
use crate::lifecycle::{LifecycleError, Stage};
use crate::model::handover::check_reason;
use crate::model::{Handed, HandoverStage, review_of};
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
        let record = self.record::<R>(id)?.ok_or_else(|| DocError::NotFound {
            collection: R::COLLECTION,
            id: id.to_string(),
        })?;
        let current = record
            .handover()
            .get(handover.as_str())
            .and_then(review_of)
            .map(|r| r.state);
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
        let mut patch = Map::new();
        let mut items = Map::new();
        items.insert(handover.to_string(), Json::Object(item));
        patch.insert("handover".into(), Json::Object(items));
        if stage == HandoverStage::Accepted {
            patch.insert("owner".into(), json!(stamp.user));
        }
        self.patch_record::<R>(id, patch, stamp).map(|_| ())
    }
}
