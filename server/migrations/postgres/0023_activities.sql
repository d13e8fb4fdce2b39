-- Promotions and customer events held with dealers (issue 10, item 2), as head office reads them:
-- one row per activity, replaced whenever its dealer's document changes. Rows of documents
-- committed before this migration are filled in once at start-up (activities_backfill).
CREATE TABLE rm_activities (
    id            TEXT NOT NULL,
    dealer        TEXT NOT NULL,
    territory     TEXT NOT NULL,
    kind          TEXT NOT NULL,
    title         TEXT NOT NULL,
    starts        TEXT NOT NULL,
    ends          TEXT NOT NULL,
    starts_at     BIGINT NOT NULL,
    budget_minor  BIGINT,
    currency      TEXT,
    status        TEXT NOT NULL,
    planned_by    TEXT,
    PRIMARY KEY (dealer, id)
);
CREATE INDEX rm_activities_territory ON rm_activities(territory, starts_at);
CREATE TABLE activities_backfill (pending BIGINT NOT NULL);
INSERT INTO activities_backfill (pending) VALUES (1);
