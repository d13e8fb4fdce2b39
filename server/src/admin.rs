//! Administration shared by the CLI and the HTTP API: create and disable users, assign territories, issue device tokens
//! (recording who issued them) and their one-time login codes, redeemed only with the user's secret (`crate::secret`),
//! which head office or an admin may reset on record.

use fieldsync_core::ids::{DeviceId, TerritoryId, UserId};
use fieldsync_core::sync::Role;

use crate::auth::{TokenError, hash_token, new_login_code, new_token, seal_token, unseal_token};
use crate::secret::{self, SecretError, SecretRefusal};
use crate::store::{Attempt, CodeRefusal, NewDevice, SecretCheck, Store, StoreError, now_millis};

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
    #[error("{0}")]
    Secret(SecretRefusal),
    #[error(transparent)]
    Hashing(#[from] SecretError),
}

fn refusal_text(r: CodeRefusal) -> &'static str {
    match r {
        CodeRefusal::Unknown => "not valid",
        CodeRefusal::Used => "already used",
        CodeRefusal::Expired => "expired",
        CodeRefusal::SecretChanged => "for a user whose PIN changed meanwhile",
    }
}

/// Who issues a device token from the command line (HTTP records the issuing user's id).
pub const ISSUED_BY_CLI: &str = "cli";

/// How long a login code can be used, by default (`Hardening::login_code_ttl_ms`'s default).
pub use crate::hardening::LOGIN_CODE_TTL_MS;

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

/// What the redeemer of a login code gives of the user's secret. Never logged.
#[derive(Clone, Copy, Default)]
pub struct Proof<'a> {
    /// The user's secret, when they have one.
    pub secret: Option<&'a str>,
    /// The secret to set, when they have none yet (first enrolment, or after a reset).
    pub new_secret: Option<&'a str>,
}

impl std::fmt::Debug for Proof<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proof")
            .field("secret", &self.secret.map(|_| "…"))
            .field("new_secret", &self.new_secret.map(|_| "…"))
            .finish()
    }
}

/// Uses a login code once, with its user's secret: the (device, token) it was made for.
///
/// A user with a secret must give it (`Required`, `Wrong`; wrong ones are counted and bounded:
/// `Burned`, `Locked`); a user without one sets it now (`NewRequired`, `TooShort`, `TooLong`),
/// so whoever first enrols owns it and a code redeemed by anyone else (head office that issued
/// it) gives nothing.
pub async fn redeem_login_code(
    store: &Store,
    code: &str,
    proof: Proof<'_>,
) -> Result<(String, String), AdminError> {
    if code.is_empty() || code.len() > 200 {
        return Err(AdminError::Code(CodeRefusal::Unknown));
    }
    let code_hash = hash_token(code);
    let pending = store
        .login_code_pending(&code_hash)
        .await?
        .map_err(AdminError::Code)?;
    let user = pending.user;
    let state = store
        .secret_state(&user)
        .await?
        .ok_or_else(|| AdminError::UnknownUser(user.clone()))?;
    if state.locked_until.is_some_and(|t| t > now_millis()) {
        return Err(AdminError::Secret(SecretRefusal::Locked));
    }
    let check = match state.hash {
        Some(stored) => {
            let given = proof
                .secret
                .filter(|g| !g.is_empty())
                .ok_or(AdminError::Secret(SecretRefusal::Required))?;
            let counted = store
                .secret_attempt(&code_hash, &user, secret::CODE_ATTEMPTS, secret::lock_ms)
                .await?;
            let (user_failures, code_failures) = match counted {
                Attempt::Counted {
                    user_failures,
                    code_failures,
                } => (user_failures, code_failures),
                Attempt::UserLocked(_) => return Err(AdminError::Secret(SecretRefusal::Locked)),
                Attempt::CodeBurned => return Err(AdminError::Secret(SecretRefusal::Burned)),
                Attempt::CodeUsed => return Err(AdminError::Code(CodeRefusal::Used)),
            };
            let (h, g) = (stored.clone(), given.to_owned());
            let right = tokio::task::spawn_blocking(move || secret::verify(&h, &g))
                .await
                .map_err(|e| SecretError::Hash(e.to_string()))?;
            if !right {
                if code_failures >= secret::CODE_ATTEMPTS {
                    store.burn_login_code(&code_hash).await?;
                    return Err(AdminError::Secret(SecretRefusal::Burned));
                }
                let refusal = if secret::lock_ms(user_failures).is_some() {
                    SecretRefusal::Locked
                } else {
                    SecretRefusal::Wrong
                };
                return Err(AdminError::Secret(refusal));
            }
            SecretCheck::Verified(stored)
        }
        None => {
            let new = proof
                .new_secret
                .ok_or(AdminError::Secret(SecretRefusal::NewRequired))?;
            secret::check_new(new).map_err(AdminError::Secret)?;
            let new = new.to_owned();
            let hashed = tokio::task::spawn_blocking(move || secret::hash(&new))
                .await
                .map_err(|e| SecretError::Hash(e.to_string()))??;
            SecretCheck::Enrol(hashed)
        }
    };
    let (device, sealed) = store
        .redeem_login_code(&code_hash, &user, &check)
        .await?
        .map_err(|r| match r {
            // Another link set the secret first, or it was reset: ask again.
            CodeRefusal::SecretChanged => AdminError::Secret(match check {
                SecretCheck::Verified(_) => SecretRefusal::NewRequired,
                SecretCheck::Enrol(_) => SecretRefusal::Required,
            }),
            r => AdminError::Code(r),
        })?;
    let token = unseal_token(&sealed, code)
        .ok_or_else(|| StoreError::Corrupt(format!("the sealed token of a code of {device}")))?;
    Ok((device, token))
}

/// Resets `user`'s secret on record (`by`: the resetting user's id, or `cli`): their next login
/// link sets a new one, and they see who reset it and when. Their devices keep working.
pub async fn reset_secret(store: &Store, user: &str, by: &str) -> Result<i64, AdminError> {
    store
        .reset_secret(user, by)
        .await?
        .ok_or_else(|| AdminError::UnknownUser(user.to_owned()))
}

/// Disables a user (their tokens stop working at once) or enables them again.
pub async fn set_disabled(store: &Store, user: &str, disabled: bool) -> Result<(), AdminError> {
    if store.set_user_disabled(user, disabled).await? {
        Ok(())
    } else {
        Err(AdminError::UnknownUser(user.to_owned()))
    }
}
