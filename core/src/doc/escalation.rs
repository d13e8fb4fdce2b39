//! Escalating a problem to head office and head office's answer: steps of the problem's `escalation` lifecycle.

use serde_json::{Map, Value as Json, json};

use super::document::Document;
use super::error::DocError;
use crate::ids::{ProblemId, UserId};
use crate::lifecycle::{LifecycleError, Stage};
use crate::model::{EscalationStage, Problem};
use crate::stamp::Stamp;

impl Document {
    /// Puts problem `id` in head office's escalation queue: the `escalated` step
    /// (who and when) and the `escalated` flag, in one change.
    pub fn escalate(&mut self, id: &ProblemId, stamp: &Stamp) -> Result<(), DocError> {
        let p = self.problem(id)?;
        if p.escalation.is_some() {
            return Err(LifecycleError::NotAllowed {
                from: EscalationStage::Escalated.name(),
                to: EscalationStage::Escalated.name(),
            }
            .into());
        }
        let mut patch = Map::new();
        patch.insert(
            "escalation".into(),
            json!({ "escalated": { "by": stamp.user, "at": stamp.at } }),
        );
        patch.insert("escalated".into(), Json::Bool(true));
        self.patch_record::<Problem>(id, patch, stamp).map(|_| ())
    }

    /// Head office's answer to escalated problem `id`: the `responded` step with
    /// the `response` and, if given, whom the problem is assigned to (who then
    /// owns it).
    pub fn respond(
        &mut self,
        id: &ProblemId,
        response: &str,
        assign_to: Option<&UserId>,
        stamp: &Stamp,
    ) -> Result<(), DocError> {
        let p = self.problem(id)?;
        let Some(e) = &p.escalation else {
            return Err(LifecycleError::MissingStart(EscalationStage::Escalated.name()).into());
        };
        e.check_advance(EscalationStage::Responded)?;
        let mut patch = Map::new();
        patch.insert(
            "escalation".into(),
            json!({ "responded": { "by": stamp.user, "at": stamp.at } }),
        );
        patch.insert("response".into(), Json::String(response.to_owned()));
        if let Some(u) = assign_to {
            patch.insert("assigned_to".into(), json!(u));
            patch.insert("owner".into(), json!(u));
        }
        self.patch_record::<Problem>(id, patch, stamp).map(|_| ())
    }

    fn problem(&self, id: &ProblemId) -> Result<Problem, DocError> {
        self.record::<Problem>(id)?
            .ok_or_else(|| DocError::NotFound {
                collection: "problems",
                id: id.to_string(),
            })
    }
}
