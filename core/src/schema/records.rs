//! The record rules (`model::*::validate`) as an edit sees them: an edit may not break a rule in its own view of the document; a merge that breaks one is listed for review.

use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use super::check::{DocKind, Touched};
use super::rule::{Rule, Violation};
use super::view::View;
use crate::model::{
    Activity, Commitment, DealerEntry, DealerProfile, ExpenseClaim, Note, Problem, Territory,
    ValidationError, Visit,
};

/// Whether an edit from a record that was `before` (absent: new) to `after` keeps
/// the record rules: it may not break one. A rule the record already broke in the
/// same way before the edit (because two devices' valid edits merged into a state
/// that breaks it, e.g. one moved an activity's start later and the other its end
/// earlier) does not refuse an edit that leaves it as it was; an edit that fixes
/// it, or touches other fields, is accepted.
pub fn keeps_rules(
    before: Option<Result<(), ValidationError>>,
    after: Result<(), ValidationError>,
) -> Result<(), ValidationError> {
    match after {
        Ok(()) => Ok(()),
        Err(e) if before == Some(Err(e.clone())) => Ok(()),
        Err(e) => Err(e),
    }
}

type Outcome = Result<(), String>;

fn outcome<T: DeserializeOwned>(
    json: Json,
    check: fn(&T) -> Result<(), ValidationError>,
) -> Outcome {
    let value: T = serde_json::from_value(json).map_err(|e| format!("unreadable: {e}"))?;
    check(&value).map_err(|e| e.to_string())
}

/// How a record at `path` fares against its rules in `view` (`None`: absent).
fn judge(kind: DocKind, path: &[String], view: &dyn View) -> Option<Outcome> {
    let json = view.json(path)?;
    let collection = path.first().map(String::as_str);
    Some(match (kind, collection) {
        (DocKind::Dealer, Some("profile")) => outcome(json, DealerProfile::validate),
        (DocKind::Dealer, Some("visits")) => outcome(json, Visit::validate),
        (DocKind::Dealer, Some("commitments")) => outcome(json, Commitment::validate),
        (DocKind::Dealer, Some("claims")) => outcome(json, ExpenseClaim::validate),
        (DocKind::Dealer, Some("problems")) => outcome(json, Problem::validate),
        (DocKind::Dealer, Some("activities")) => outcome(json, Activity::validate),
        (DocKind::Dealer, Some("notes")) => outcome(json, Note::validate),
        (DocKind::Territory, Some("profile")) => outcome(json, Territory::validate),
        (DocKind::Territory, Some("dealers")) => outcome(json, DealerEntry::validate),
        _ => Err("not a record".to_owned()),
    })
}

/// Each touched record present after an edit, and whether it keeps its rules there.
pub type Judged = Vec<(Vec<String>, bool)>;

/// Checks every touched record keeps its rules from `before` to `after` (see [`keeps_rules`]).
pub(crate) fn check_touched(
    kind: DocKind,
    touched: &Touched,
    before: &dyn View,
    after: &dyn View,
) -> Result<Judged, Violation> {
    let mut judged = Vec::new();
    for path in touched {
        let Some(now) = judge(kind, path, after) else {
            continue;
        };
        if let Err(e) = &now
            && judge(kind, path, before).as_ref() != Some(&now)
        {
            return Err(Violation::new(Rule::Record, path, e.clone()));
        }
        judged.push((path.clone(), now.is_ok()));
    }
    Ok(judged)
}

/// A record whose merged state breaks one of its rules: accepted (each edit was
/// valid where it was made) and listed for review with the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// `[collection, id]`, or `["profile"]`.
    pub path: Vec<String>,
    pub reason: String,
}

/// Every record of the document that breaks one of its rules, in path order.
pub fn broken(kind: DocKind, view: &dyn View) -> Vec<Broken> {
    broken_where(kind, view, |_| true)
}

/// [`broken`] among the records `judge` names (the others are known to keep their rules).
pub fn broken_where(
    kind: DocKind,
    view: &dyn View,
    judge: impl Fn(&[String]) -> bool,
) -> Vec<Broken> {
    let mut out = Vec::new();
    for field in kind.fields() {
        let coll = vec![field.name.to_owned()];
        let paths: Vec<Vec<String>> = if field.name == "profile" {
            vec![coll]
        } else {
            view.keys(&coll)
                .into_iter()
                .map(|k| vec![field.name.to_owned(), k])
                .collect()
        };
        for path in paths.into_iter().filter(|p| judge(p)) {
            if let Some(Err(reason)) = self::judge(kind, &path, view) {
                out.push(Broken { path, reason });
            }
        }
    }
    out
}
