-- Reconciliation ageing (PUT /api/claim-ageing): how many days a spent claim may wait
-- for reconciliation before it is overdue (core's model::ClaimAgeing). One row, id 1;
-- without it the default applies.
CREATE TABLE claim_ageing (
    id      INTEGER PRIMARY KEY,
    days    BIGINT NOT NULL,
    set_by  TEXT NOT NULL,
    set_at  BIGINT NOT NULL
);
-- The day a claim was spent on (YYYY-MM-DD, core's claim_ageing::spent_on), for the
-- overdue filter. A claim spent before this migration gets it when its dealer's
-- document next changes.
ALTER TABLE rm_claims ADD COLUMN spent_on TEXT;
CREATE INDEX rm_claims_spent_on ON rm_claims(status, spent_on);
