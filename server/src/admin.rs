//! Administration shared by the CLI and the HTTP API: create and disable users, assign territories, issue device tokens
//! (recording who issued them) and their one-time login codes.

use fieldsync_core::ids::{DeviceId, TerritoryId, UserId};
use fieldsync_core::sync::Role;

use crate::auth::{TokenError, hash_token, new_login_code, new_token, seal_token, unseal_token};
use crate::store::{CodeRefusal, NewDevice, Store, StoreError, now_millis};

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
    #[error("the login code is {}", refusal_text(*.0))]
    Code(CodeRefusal),
}

fn refusal_text(r: CodeRefusal) -> &'static str {
    match r {
        CodeRefusal::Unknown => "not valid",
        CodeRefusal::Used => "already used",
        CodeRefusal::Expired => "expired",
    }
}

/// Who issues a device token from the command line (HTTP records the issuing user's id).
pub const ISSUED_BY_CLI: &str = "cli";

/// How long a login code can be used, by default.
pub const LOGIN_CODE_TTL_MS: i64 = 24 * 60 * 60 * 1000;

/// How a device token is issued.
#[derive(Debug, Clone, Copy)]
pub struct IssueOptions<'a> {
    /// A chosen token (demo data only); None: a random one.
    pub fixed: Option<&'a str>,
    /// `cli`, or the id of the user who issued it.
    pub issued_by: &'a str,
    /// When the token stops working (ms since the epoch), if ever.
    pub expires_at: Option<i64>,
}

/// A login code just made: shown once, usable once until `expires_at`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoginCode {
    pub code: String,
    pub expires_at: i64,
}

impl LoginCode {
    /// The app's login link for this code, relative to the server's origin.
    pub fn link(&self) -> String {
        format!("/#/login?code={}", self.code)
    }
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

/// Issues a device token for `user` from the command line. `fixed` gives a chosen token (demo data only).
pub async fn issue_device(
    store: &Store,
    user: &str,
    label: &str,
    fixed: Option<&str>,
) -> Result<Issued, AdminError> {
    let options = IssueOptions {
        fixed,
        issued_by: ISSUED_BY_CLI,
        expires_at: None,
    };
    issue_device_with(store, user, label, options).await
}

/// Issues a device token for `user`, recording who issued it and until when it works.
pub async fn issue_device_with(
    store: &Store,
    user: &str,
    label: &str,
    options: IssueOptions<'_>,
) -> Result<Issued, AdminError> {
    let fixed = options.fixed;
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
        .create_device(NewDevice {
            id: &device,
            user,
            label,
            token_hash: &hash_token(&token),
            issued_by: options.issued_by,
            expires_at: options.expires_at,
        })
        .await?;
    Ok(Issued {
        device,
        user: user.to_owned(),
        token,
    })
}

/// A one-time login code for `device`, whose token is `token`, usable for `ttl_ms`.
pub async fn login_code(
    store: &Store,
    device: &str,
    token: &str,
    ttl_ms: i64,
) -> Result<LoginCode, AdminError> {
    let code = new_login_code()?;
    let expires_at = now_millis().saturating_add(ttl_ms);
    store
        .create_login_code(
            &hash_token(&code),
            device,
            &seal_token(token, &code),
            expires_at,
        )
        .await?;
    Ok(LoginCode { code, expires_at })
}

/// Uses a login code once: the (device, token) it was made for.
pub async fn redeem_login_code(store: &Store, code: &str) -> Result<(String, String), AdminError> {
    if code.is_empty() || code.len() > 200 {
        return Err(AdminError::Code(CodeRefusal::Unknown));
    }
    let (device, sealed) = store
        .redeem_login_code(&hash_token(code))
        .await?
        .map_err(AdminError::Code)?;
    let token = unseal_token(&sealed, code)
        .ok_or_else(|| StoreError::Corrupt(format!("the sealed token of a code of {device}")))?;
    Ok((device, token))
}

/// Disables a user (their tokens stop working at once) or enables them again.
pub async fn set_disabled(store: &Store, user: &str, disabled: bool) -> Result<(), AdminError> {
    if store.set_user_disabled(user, disabled).await? {
        Ok(())
    } else {
        Err(AdminError::UnknownUser(user.to_owned()))
    }
}
