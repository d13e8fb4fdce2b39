//! Users' login secrets as stored: the Argon2id hash, when it was set or last reset (and by whom), and the
//! wrong-attempt counters of users and login codes (the rules are in `crate::secret`).

use sqlx::Row;

use super::{Store, StoreError, now_millis};

/// What redeeming a login code checks of its user's secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretCheck {
    /// The given secret matched this stored hash (it must still be the user's).
    Verified(String),
    /// The user had none: this becomes their secret (only if they still have none).
    Enrol(String),
}

/// A user's secret as the login needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretState {
    pub hash: Option<String>,
    pub locked_until: Option<i64>,
}

/// What a user (and head office) may see of a user's secret: never the secret or its hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SecretRecord {
    /// When the current secret was set (None: the user has none).
    pub set_at: Option<i64>,
    /// Who last reset it (a user's id, or `cli`), and when.
    pub reset_by: Option<String>,
    pub reset_at: Option<i64>,
}

/// Whether a secret may be tried now, counted before it is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Try it; these are the counts including this attempt.
    Counted {
        user_failures: i64,
        code_failures: i64,
    },
    /// The user's secret is locked until then: not tried, not counted.
    UserLocked(i64),
    /// The code had its last attempt already: it is burned now.
    CodeBurned,
    /// The code was used meanwhile.
    CodeUsed,
}

impl Store {
    /// The secret of `user` (None: no such user).
    pub async fn secret_state(&self, user: &str) -> Result<Option<SecretState>, StoreError> {
        let row = sqlx::query("SELECT secret_hash, secret_locked_until FROM users WHERE id = $1")
            .bind(user)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            Ok(SecretState {
                hash: r.try_get("secret_hash")?,
                locked_until: r.try_get("secret_locked_until")?,
            })
        })
        .transpose()
    }

    /// When `user`'s secret was set and last reset, and by whom.
    pub async fn secret_record(&self, user: &str) -> Result<Option<SecretRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT secret_set_at, secret_reset_by, secret_reset_at FROM users WHERE id = $1",
        )
        .bind(user)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(SecretRecord {
                set_at: r.try_get("secret_set_at")?,
                reset_by: r.try_get("secret_reset_by")?,
                reset_at: r.try_get("secret_reset_at")?,
            })
        })
        .transpose()
    }

    /// Counts one attempt at `user`'s secret with a login code, before the secret is checked, so
    /// that parallel guesses are bounded as well: a locked user's secret is not tried (and not
    /// counted), a code past `code_limit` attempts is burned, and the attempt that brings the user's
    /// run of failures to a multiple of the limit locks the secret for `lock_ms(failures)`.
    pub async fn secret_attempt(
        &self,
        code_hash: &str,
        user: &str,
        code_limit: i64,
        lock_ms: impl Fn(i64) -> Option<i64>,
    ) -> Result<Attempt, StoreError> {
        let now = now_millis();
        let mut w = self.begin_write().await?;
        // One statement: PostgreSQL re-checks the lock after waiting for a concurrent attempt's row lock.
        let user_failures: Option<i64> = sqlx::query_scalar(
            "UPDATE users SET secret_failures = secret_failures + 1 \
             WHERE id = $1 AND (secret_locked_until IS NULL OR secret_locked_until <= $2) \
             RETURNING secret_failures",
        )
        .bind(user)
        .bind(now)
        .fetch_optional(&mut *w.tx)
        .await?;
        let Some(user_failures) = user_failures else {
            let until: Option<i64> =
                sqlx::query_scalar("SELECT secret_locked_until FROM users WHERE id = $1")
                    .bind(user)
                    .fetch_optional(&mut *w.tx)
                    .await?
                    .flatten();
            return Ok(Attempt::UserLocked(until.unwrap_or(now)));
        };
        let code_failures: Option<i64> = sqlx::query_scalar(
            "UPDATE login_codes SET secret_failures = secret_failures + 1 \
             WHERE code_hash = $1 AND used_at IS NULL RETURNING secret_failures",
        )
        .bind(code_hash)
        .fetch_optional(&mut *w.tx)
        .await?;
        let Some(code_failures) = code_failures else {
            return Ok(Attempt::CodeUsed);
        };
        if code_failures > code_limit {
            burn(&mut w, code_hash, now).await?;
            w.commit().await?;
            return Ok(Attempt::CodeBurned);
        }
        if let Some(ms) = lock_ms(user_failures) {
            sqlx::query("UPDATE users SET secret_locked_until = $1 WHERE id = $2")
                .bind(now.saturating_add(ms))
                .bind(user)
                .execute(&mut *w.tx)
                .await?;
        }
        w.commit().await?;
        Ok(Attempt::Counted {
            user_failures,
            code_failures,
        })
    }

    /// Burns a login code: it can no longer be used, and its sealed token is erased.
    pub async fn burn_login_code(&self, code_hash: &str) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        burn(&mut w, code_hash, now_millis()).await?;
        w.commit().await
    }

    /// Head office or an admin resets `user`'s secret (recording who and when): the user's next
    /// login link sets a new one. Their devices keep working. False if no such user.
    pub async fn reset_secret(&self, user: &str, by: &str) -> Result<Option<i64>, StoreError> {
        let now = now_millis();
        let mut w = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE users SET secret_hash = NULL, secret_set_at = NULL, secret_reset_by = $1, \
             secret_reset_at = $2, secret_failures = 0, secret_locked_until = NULL WHERE id = $3",
        )
        .bind(by)
        .bind(now)
        .bind(user)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        w.commit().await?;
        Ok((n > 0).then_some(now))
    }
}

async fn burn(w: &mut super::WriteTx, code_hash: &str, now: i64) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE login_codes SET used_at = $1, sealed = NULL WHERE code_hash = $2 AND used_at IS NULL",
    )
    .bind(now)
    .bind(code_hash)
    .execute(&mut *w.tx)
    .await?;
    Ok(())
}

/// Within a code's redemption: checks and records its user's secret, false if it changed meanwhile.
pub(super) async fn settle(
    w: &mut super::WriteTx,
    user: &str,
    check: &SecretCheck,
    now: i64,
) -> Result<bool, StoreError> {
    let n = match check {
        SecretCheck::Verified(hash) => sqlx::query(
            "UPDATE users SET secret_failures = 0, secret_locked_until = NULL \
             WHERE id = $1 AND secret_hash = $2",
        )
        .bind(user)
        .bind(hash)
        .execute(&mut *w.tx)
        .await?
        .rows_affected(),
        SecretCheck::Enrol(hash) => sqlx::query(
            "UPDATE users SET secret_hash = $1, secret_set_at = $2, secret_failures = 0, \
             secret_locked_until = NULL WHERE id = $3 AND secret_hash IS NULL",
        )
        .bind(hash)
        .bind(now)
        .bind(user)
        .execute(&mut *w.tx)
        .await?
        .rows_affected(),
    };
    Ok(n == 1)
}
