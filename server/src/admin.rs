//! Administration shared by the CLI and the HTTP API: create users, assign territories, issue and revoke device tokens.

use fieldsync_core::ids::{DeviceId, TerritoryId, UserId};
use fieldsync_core::sync::Role;

use crate::auth::{TokenError, hash_token, new_token};
use crate::store::{Store, StoreError};

/// Why an administrative action failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error("no user {0}")]
    UnknownUser(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Token(#[from] TokenError),
}

/// A device token just issued; the token is shown once and stored only hashed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Issued {
    pub device: String,
    pub user: String,
    pub token: String,
}

/// Creates a user; `territories` are checked as ids.
pub async fn add_user(
    store: &Store,
    id: &str,
    name: &str,
    role: &str,
    territories: &[String],
) -> Result<(), AdminError> {
    id.parse::<UserId>()
        .map_err(|e| AdminError::Invalid(e.to_string()))?;
    role.parse::<Role>().map_err(|_| {
        AdminError::Invalid(format!(
            "role must be one of {}",
            Role::ALL
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 120 {
        return Err(AdminError::Invalid(
            "a name of 1 to 120 characters is required".into(),
        ));
    }
    check_territories(territories)?;
    store.create_user(id, name, role, territories).await?;
    Ok(())
}

fn check_territories(territories: &[String]) -> Result<(), AdminError> {
    for t in territories {
        t.parse::<TerritoryId>()
            .map_err(|e| AdminError::Invalid(e.to_string()))?;
    }
    Ok(())
}

/// Replaces a user's assigned territories; they are checked as ids.
pub async fn set_territories(
    store: &Store,
    user: &str,
    territories: &[String],
) -> Result<(), AdminError> {
    if store.user(user).await?.is_none() {
        return Err(AdminError::UnknownUser(user.to_owned()));
    }
    check_territories(territories)?;
    let mut unique = territories.to_vec();
    unique.sort();
    unique.dedup();
    store.set_user_territories(user, &unique).await?;
    Ok(())
}

/// Issues a device token for `user`. `fixed` gives a chosen token (demo data only).
pub async fn issue_device(
    store: &Store,
    user: &str,
    label: &str,
    fixed: Option<&str>,
) -> Result<Issued, AdminError> {
    if store.user(user).await?.is_none() {
        return Err(AdminError::UnknownUser(user.to_owned()));
    }
    let label = label.trim();
    if label.chars().count() > 120 {
        return Err(AdminError::Invalid(
            "a label is at most 120 characters".into(),
        ));
    }
    let token = match fixed {
        Some(t) => t.to_owned(),
        None => new_token()?,
    };
    let device = DeviceId::random()
        .map_err(|e| AdminError::Invalid(e.to_string()))?
        .to_string();
    store
        .create_device(&device, user, label, &hash_token(&token))
        .await?;
    Ok(Issued {
        device,
        user: user.to_owned(),
        token,
    })
}
