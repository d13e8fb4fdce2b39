//! Users, their assigned territories and their devices' hashed tokens.

use sqlx::Row;

use super::{Store, StoreError, now_millis};

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UserRow {
    pub id: String,
    pub name: String,
    pub role: String,
}

/// A device as stored (never its token).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeviceRow {
    pub id: String,
    pub user: String,
    pub label: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
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
        let row = sqlx::query("SELECT id, name, role FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            Ok(UserRow {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                role: r.try_get("role")?,
            })
        })
        .transpose()
    }

    /// Every user, by id.
    pub async fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        let rows = sqlx::query("SELECT id, name, role FROM users ORDER BY id")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(UserRow {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    role: r.try_get("role")?,
                })
            })
            .collect()
    }

    /// The territories a user may access: those an administrator assigned, and
    /// those whose territory document lists them as a manager.
    pub async fn user_territories(&self, id: &str) -> Result<Vec<String>, StoreError> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT territory FROM user_territories WHERE user_id = $1 \
             UNION SELECT territory FROM rm_territory_managers WHERE user_id = $2 \
             ORDER BY 1",
        )
        .bind(id)
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows)
    }

    /// Registers a device whose token hashes to `token_hash`.
    pub async fn create_device(
        &self,
        id: &str,
        user: &str,
        label: &str,
        token_hash: &str,
    ) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        let r = sqlx::query(
            "INSERT INTO devices (id, user_id, label, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(user)
        .bind(label)
        .bind(token_hash)
        .bind(now_millis())
        .execute(&mut *w.tx)
        .await;
        match r {
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Duplicate(format!("device {id} or its token")));
            }
            r => r?,
        };
        w.commit().await
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
            "SELECT id, user_id, label, created_at, revoked_at FROM devices WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(device_row).transpose()
    }

    /// Every device (of one user, if given).
    pub async fn devices(&self, user: Option<&str>) -> Result<Vec<DeviceRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, user_id, label, created_at, revoked_at FROM devices \
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
    })
}
