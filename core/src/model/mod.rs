//! The domain records of a channel manager's work, and the rules each must keep.

pub mod activity;
pub mod claim;
pub mod claim_ageing;
pub mod commitment;
pub mod dealer;
pub mod handover;
pub mod note;
pub mod photo;
pub mod problem;
pub mod record;
pub mod sales;
pub mod standing;
pub mod territory;
pub mod validation;
pub mod visit;

pub use activity::{Activity, ActivityKind, ActivityStatus};
pub use claim::{ClaimStage, ExpenseCategory, ExpenseClaim};
pub use claim_ageing::ClaimAgeing;
pub use commitment::{Commitment, CommitmentStatus};
pub use dealer::{Brand, Contact, DealerKind, DealerProfile, DealerStatus, DownlineCustomer};
pub use handover::{Handed, HandoverStage, Item, ItemKind, Review, open_items, review_of};
pub use note::Note;
pub use photo::{ContentHash, Photo};
pub use problem::{EscalationStage, Problem, ProblemCategory, ProblemStatus, Severity};
pub use record::{Notable, Record, Tracked};
pub use sales::{Month, SalesError};
pub use standing::Standing;
pub use territory::{DealerEntry, Territory};
pub use validation::ValidationError;
pub use visit::{Visit, VisitPurpose};
