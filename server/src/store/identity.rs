//! Users (enabled or disabled), their assigned territories, their devices' hashed tokens (who issued them, until when) and one-time login codes
//! (redeemed together with the user's secret: `secrets.rs`).

use sqlx::Row;
use sqlx::any::AnyRow;

use super::secrets::{self, SecretCheck};
use super::{Backend, Store, StoreError, now_millis};

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UserRow {
    pub id: String,
    pub name: String,
    pub role: String,
    /// When an administrator disabled the user, if they are disabled.
    pub disabled_at: Option<i64>,
}

/// A device as stored (never its token).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeviceRow {
    pub id: String,
    pub user: String,
    pub label: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    /// When the token stops working, if ever.
    pub expires_at: Option<i64>,
    /// Who issued it: `cli`, or the issuing user's id (None: before this was recorded).
    pub issued_by: Option<String>,
}

/// What a request's token stands for: its device, user and whether it may still be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSession {
    pub device: String,
    pub user: String,
    pub revoked: bool,
    pub expires_at: Option<i64>,
    pub user_disabled: bool,
    /// The user's name and role, read in the same query (a request needs them).
    pub user_name: String,
    pub user_role: String,
}

impl TokenSession {
    /// The session's user as stored.
    pub fn user_row(&self) -> UserRow {
        UserRow {
            id: self.user.clone(),
            name: self.user_name.clone(),
            role: self.user_role.clone(),
            disabled_at: None,
        }
    }
}

/// The columns [`session_of`] reads, from `devices d JOIN users u`.
const SESSION_COLUMNS: &str =
    "d.id, d.user_id, d.revoked_at, d.expires_at, u.disabled_at, u.name, u.role";

/// Where the territories `user` reads at `now` come from (both SQL expressions): those
/// assigned, and those they hand over and still read until the handover is completed or its
/// deadline passes (then the next sync revokes them). `readable_territories` and
/// `token_caller` both read them so.
fn readable_from(user: &str, now: &str) -> [String; 2] {
    [
        format!("user_territories WHERE user_id = {user}"),
        format!("handovers WHERE from_user = {user} AND completed_at IS NULL AND deadline > {now}"),
    ]
}

/// A session from a row of [`SESSION_COLUMNS`].
fn session_of(r: &AnyRow) -> Result<TokenSession, StoreError> {
    Ok(TokenSession {
        device: r.try_get("id")?,
        user: r.try_get("user_id")?,
        revoked: r.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
        expires_at: r.try_get("expires_at")?,
        user_disabled: r.try_get::<Option<i64>, _>("disabled_at")?.is_some(),
        user_name: r.try_get("name")?,
        user_role: r.try_get("role")?,
    })
}

/// Why a login code gave no token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRefusal {
    Unknown,
    Used,
    Expired,
    /// The user's secret changed while the code was being redeemed (set by another link, or reset).
    SecretChanged,
}

/// A login code not yet used: its device and that device's user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCode {
    pub device: String,
    pub user: String,
}

/// A device token being issued.
#[derive(Debug, Clone, Copy)]
pub struct NewDevice<'a> {
    pub id: &'a str,
    pub user: &'a str,
    pub label: &'a str,
    pub token_hash: &'a str,
    pub issued_by: &'a str,
    pub expires_at: Option<i64>,
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

impl Store {
    /// Whether no user exists yet (a fresh database).
    pub async fn has_no_users(&self) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(self.pool())
            .await?;
        Ok(n == 0)
    }

    /// Creates a user with a role and assigned territories.
    pub async fn create_user(
        &self,
        id: &str,
        name: &str,
        role: &str,
        territories: &[String],
    ) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        let r =
            sqlx::query("INSERT INTO users (id, name, role, created_at) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(name)
                .bind(role)
                .bind(now_millis())
                .execute(&mut *w.tx)
                .await;
        match r {
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Duplicate(format!("user {id}")));
            }
            r => r?,
        };
        for t in territories {
            sqlx::query(
                "INSERT INTO user_territories (user_id, territory) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(t)
            .execute(&mut *w.tx)
            .await?;
        }
        w.commit().await
    }

    /// Replaces a user's administrator-assigned territories.
    pub async fn set_user_territories(
        &self,
        id: &str,
        territories: &[String],
    ) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        sqlx::query("DELETE FROM user_territories WHERE user_id = $1")
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        for t in territories {
            sqlx::query("INSERT INTO user_territories (user_id, territory) VALUES ($1, $2)")
                .bind(id)
                .bind(t)
                .execute(&mut *w.tx)
                .await?;
        }
        w.commit().await
    }

    /// One user.
    pub async fn user(&self, id: &str) -> Result<Option<UserRow>, StoreError> {
        let row = sqlx::query("SELECT id, name, role, disabled_at FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            Ok(UserRow {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                role: r.try_get("role")?,
                disabled_at: r.try_get("disabled_at")?,
            })
        })
        .transpose()
    }

    /// Every user, by id.
    pub async fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        let rows = sqlx::query("SELECT id, name, role, disabled_at FROM users ORDER BY id")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(UserRow {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    role: r.try_get("role")?,
                    disabled_at: r.try_get("disabled_at")?,
                })
            })
            .collect()
    }

    /// The territories a user may access: exactly those an administrator
    /// assigned. A territory document's manager list grants nothing.
    pub async fn user_territories(&self, id: &str) -> Result<Vec<String>, StoreError> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT territory FROM user_territories WHERE user_id = $1 ORDER BY 1",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows)
    }

    /// The territories `user` may read at `now`, in one query: those assigned
    /// ([`Self::user_territories`]) and those handed over and still in their read
    /// period (a handover from them neither completed nor past its deadline).
    pub async fn readable_territories(
        &self,
        user: &str,
        now: i64,
    ) -> Result<Vec<String>, StoreError> {
        // Each mark once (the user twice): as the query has always bound them.
        let [assigned, _] = readable_from("$1", "$3");
        let [_, handing] = readable_from("$2", "$3");
        let sql = format!(
            "SELECT territory FROM {assigned} UNION SELECT territory FROM {handing} ORDER BY 1"
        );
        Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(user)
            .bind(user)
            .bind(now)
            .fetch_all(self.pool())
            .await?)
    }

    /// Registers a device whose token hashes to `d.token_hash`.
    pub async fn create_device(&self, d: NewDevice<'_>) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        let r = sqlx::query(
            "INSERT INTO devices (id, user_id, label, token_hash, created_at, issued_by, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(d.id)
        .bind(d.user)
        .bind(d.label)
        .bind(d.token_hash)
        .bind(now_millis())
        .bind(d.issued_by)
        .bind(d.expires_at)
        .execute(&mut *w.tx)
        .await;
        match r {
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Duplicate(format!(
                    "device {} or its token",
                    d.id
                )));
            }
            r => r?,
        };
        w.commit().await
    }

    /// The session behind a token hash (also when revoked, expired or its user disabled).
    pub async fn token_session(
        &self,
        token_hash: &str,
    ) -> Result<Option<TokenSession>, StoreError> {
        self.session_where("d.token_hash = $1", token_hash).await
    }

    /// [`Self::token_session`] and the territories its user may read at `now`
    /// ([`Self::readable_territories`]), in one query: what every request reads first.
    pub async fn token_caller(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<(TokenSession, Vec<String>)>, StoreError> {
        // Each list as a JSON array (any text survives it), merged below.
        let list = |from: &str| match self.backend {
            Backend::Sqlite => format!("(SELECT json_group_array(territory) FROM {from})"),
            Backend::Postgres => {
                format!("(SELECT COALESCE(json_agg(territory)::text, '[]') FROM {from})")
            }
        };
        let readable = readable_from("d.user_id", "$2");
        let sql = format!(
            "SELECT {SESSION_COLUMNS}, {} AS assigned, {} AS handing \
             FROM devices d JOIN users u ON u.id = d.user_id WHERE d.token_hash = $1",
            list(&readable[0]),
            list(&readable[1]),
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token_hash)
            .bind(now)
            .fetch_optional(self.pool())
            .await?;
        let Some(r) = row else { return Ok(None) };
        let mut names = std::collections::BTreeSet::new();
        for column in ["assigned", "handing"] {
            let json: String = r.try_get(column)?;
            let list: Vec<String> = serde_json::from_str(&json)
                .map_err(|e| StoreError::Corrupt(format!("territory list: {e}")))?;
            names.extend(list);
        }
        Ok(Some((session_of(&r)?, names.into_iter().collect())))
    }

    /// The session of a device by id (to re-check a long-lived live channel).
    pub async fn device_session(&self, device: &str) -> Result<Option<TokenSession>, StoreError> {
        self.session_where("d.id = $1", device).await
    }

    async fn session_where(
        &self,
        condition: &'static str,
        value: &str,
    ) -> Result<Option<TokenSession>, StoreError> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM devices d JOIN users u ON u.id = d.user_id WHERE {condition}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(value)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(session_of).transpose()
    }

    /// Disables (or re-enables) a user: a disabled user's tokens stop working. False if no such user.
    pub async fn set_user_disabled(&self, id: &str, disabled: bool) -> Result<bool, StoreError> {
        let mut w = self.begin_write().await?;
        let n = sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2")
            .bind(disabled.then(now_millis))
            .bind(id)
            .execute(&mut *w.tx)
            .await?
            .rows_affected();
        w.commit().await?;
        Ok(n > 0)
    }

    /// Stores a one-time login code (its hash) for `device`, with the device's token sealed by it.
    pub async fn create_login_code(
        &self,
        code_hash: &str,
        device: &str,
        sealed: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO login_codes (code_hash, device, sealed, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(code_hash)
        .bind(device)
        .bind(sealed)
        .bind(now_millis())
        .bind(expires_at)
        .execute(&mut *w.tx)
        .await?;
        w.commit().await
    }

    /// A login code that may still be used, with its device's user (or why it may not).
    pub async fn login_code_pending(
        &self,
        code_hash: &str,
    ) -> Result<Result<PendingCode, CodeRefusal>, StoreError> {
        let row = sqlx::query(
            "SELECT c.device, d.user_id, c.sealed, c.expires_at, c.used_at \
             FROM login_codes c JOIN devices d ON d.id = c.device WHERE c.code_hash = $1",
        )
        .bind(code_hash)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(Err(CodeRefusal::Unknown));
        };
        let used: Option<i64> = row.try_get("used_at")?;
        let sealed: Option<String> = row.try_get("sealed")?;
        if used.is_some() || sealed.is_none() {
            return Ok(Err(CodeRefusal::Used));
        }
        if row.try_get::<i64, _>("expires_at")? <= now_millis() {
            return Ok(Err(CodeRefusal::Expired));
        }
        Ok(Ok(PendingCode {
            device: row.try_get("device")?,
            user: row.try_get("user_id")?,
        }))
    }

    /// Uses a login code of `user` once, in one transaction with its secret's `check` (the
    /// secret verified is still theirs, or the new one is set as they still have none): its
    /// device and sealed token, which are erased.
    pub async fn redeem_login_code(
        &self,
        code_hash: &str,
        user: &str,
        check: &SecretCheck,
    ) -> Result<Result<(String, String), CodeRefusal>, StoreError> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT c.device, d.user_id, c.sealed, c.expires_at, c.used_at \
             FROM login_codes c JOIN devices d ON d.id = c.device WHERE c.code_hash = $1",
        )
        .bind(code_hash)
        .fetch_optional(&mut *w.tx)
        .await?;
        let Some(row) = row else {
            return Ok(Err(CodeRefusal::Unknown));
        };
        let now = now_millis();
        let used: Option<i64> = row.try_get("used_at")?;
        let sealed: Option<String> = row.try_get("sealed")?;
        let (Some(sealed), None) = (sealed, used) else {
            return Ok(Err(CodeRefusal::Used));
        };
        if row.try_get::<i64, _>("expires_at")? <= now {
            return Ok(Err(CodeRefusal::Expired));
        }
        if row.try_get::<String, _>("user_id")? != user {
            return Ok(Err(CodeRefusal::Unknown));
        }
        // Only one of two racing redemptions changes the row.
        let n = sqlx::query(
            "UPDATE login_codes SET used_at = $1, sealed = NULL WHERE code_hash = $2 AND used_at IS NULL",
        )
        .bind(now)
        .bind(code_hash)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Ok(Err(CodeRefusal::Used));
        }
        if !secrets::settle(&mut w, user, check, now).await? {
            return Ok(Err(CodeRefusal::SecretChanged));
        }
        let device: String = row.try_get("device")?;
        w.commit().await?;
        Ok(Ok((device, sealed)))
    }

    /// The (device, user) a live token belongs to.
    pub async fn device_by_token_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT id, user_id FROM devices WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| Ok((r.try_get("id")?, r.try_get("user_id")?)))
            .transpose()
    }

    /// Revokes a device's token; false if there is no such live device.
    pub async fn revoke_device(&self, id: &str) -> Result<bool, StoreError> {
        let mut w = self.begin_write().await?;
        let n =
            sqlx::query("UPDATE devices SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now_millis())
                .bind(id)
                .execute(&mut *w.tx)
                .await?
                .rows_affected();
        w.commit().await?;
        Ok(n > 0)
    }

    /// One device (live or revoked), never its token.
    pub async fn device(&self, id: &str) -> Result<Option<DeviceRow>, StoreError> {
        let row = sqlx::query(
            "SELECT id, user_id, label, created_at, revoked_at, expires_at, issued_by FROM devices WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(device_row).transpose()
    }

    /// Every device (of one user, if given).
    pub async fn devices(&self, user: Option<&str>) -> Result<Vec<DeviceRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, user_id, label, created_at, revoked_at, expires_at, issued_by FROM devices \
             WHERE ($1 = '' OR user_id = $2) ORDER BY created_at, id",
        )
        .bind(user.unwrap_or(""))
        .bind(user.unwrap_or(""))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(device_row).collect()
    }
}

fn device_row(r: &sqlx::any::AnyRow) -> Result<DeviceRow, StoreError> {
    Ok(DeviceRow {
        id: r.try_get("id")?,
        user: r.try_get("user_id")?,
        label: r.try_get("label")?,
        created_at: r.try_get("created_at")?,
        revoked_at: r.try_get("revoked_at")?,
        expires_at: r.try_get("expires_at")?,
        issued_by: r.try_get("issued_by")?,
    })
}
