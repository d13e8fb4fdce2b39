//! The approval limits table: what head office set (claim approval limits, managers' commitment authority), read by every push.

use fieldsync_core::ids::TerritoryId;
use fieldsync_core::money::Money;
use fieldsync_core::schema::{ApprovalLimit, ApprovalLimits, LimitKind};
use fieldsync_core::sync::Role;
use sqlx::Row;

use super::{Store, StoreError};

/// One stored limit (`territory` empty: every territory without its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitRow {
    /// `claim` or `commitment`.
    pub kind: String,
    pub role: String,
    pub territory: String,
    pub currency: String,
    pub max_minor: i64,
}

impl LimitRow {
    /// The limit as core's schema takes it, or why it does not read (an unknown kind or
    /// role, a role that does not approve, a bad territory, currency or amount).
    pub fn parse(&self) -> Result<ApprovalLimit, String> {
        let kind: LimitKind = self
            .kind
            .parse()
            .map_err(|_| format!("no limit kind {}", self.kind))?;
        let role: Role = self
            .role
            .parse()
            .map_err(|_| format!("no role {}", self.role))?;
        match kind {
            LimitKind::Claim if !role.approves_claims() => {
                return Err(format!("the {role} role does not approve claims"));
            }
            LimitKind::Commitment if role != Role::Manager => {
                return Err(format!(
                    "a commitment authority is a manager's, not the {role} role's"
                ));
            }
            _ => {}
        }
        let territory = match self.territory.as_str() {
            "" => None,
            t => Some(
                t.parse::<TerritoryId>()
                    .map_err(|e| format!("territory {t}: {e}"))?,
            ),
        };
        let currency = self.currency.parse().map_err(|e| format!("{e}"))?;
        let max = Money::new(self.max_minor, currency).map_err(|e| format!("{e}"))?;
        Ok(ApprovalLimit {
            kind,
            role,
            territory,
            max,
        })
    }
}

impl Store {
    /// Every limit as core's schema takes it: what each push is decided against (rows
    /// were checked when set; one that no longer reads is `Corrupt`, the server's fault).
    pub async fn load_approval_limits(&self) -> Result<ApprovalLimits, StoreError> {
        let rows = self.approval_limits().await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(r.parse().map_err(|e| {
                StoreError::Corrupt(format!("a stored approval limit does not read: {e}"))
            })?);
        }
        Ok(ApprovalLimits(out))
    }

    /// Every limit, in a stable order.
    pub async fn approval_limits(&self) -> Result<Vec<LimitRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, role, territory, currency, max_minor FROM approval_limits \
             ORDER BY kind, role, territory, currency",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LimitRow {
                    kind: r.try_get("kind")?,
                    role: r.try_get("role")?,
                    territory: r.try_get("territory")?,
                    currency: r.try_get("currency")?,
                    max_minor: r.try_get("max_minor")?,
                })
            })
            .collect()
    }

    /// Replaces every limit with `rows`, in one transaction.
    pub async fn set_approval_limits(
        &self,
        rows: &[LimitRow],
        by: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        sqlx::query("DELETE FROM approval_limits")
            .execute(&mut *w.tx)
            .await?;
        for r in rows {
            sqlx::query(
                "INSERT INTO approval_limits (kind, role, territory, currency, max_minor, set_by, set_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&r.kind)
            .bind(&r.role)
            .bind(&r.territory)
            .bind(&r.currency)
            .bind(r.max_minor)
            .bind(by)
            .bind(at)
            .execute(&mut *w.tx)
            .await?;
        }
        w.commit().await
    }
}
