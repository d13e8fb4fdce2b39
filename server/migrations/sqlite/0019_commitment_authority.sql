-- A manager's commitment authority (issue 9): approval_limits gains a kind. `claim`
-- (every row so far): the largest claim a role approves. `commitment` (role manager):
-- the largest commitment a manager makes without a supervisor's approval; above it the
-- commitment is pending approval (core's schema, rule pending_approval).
-- SQLite cannot change a primary key: the table is rebuilt.
CREATE TABLE approval_limits_new (
    kind        TEXT NOT NULL DEFAULT 'claim',
    role        TEXT NOT NULL,
    territory   TEXT NOT NULL DEFAULT '',
    currency    TEXT NOT NULL,
    max_minor   BIGINT NOT NULL,
    set_by      TEXT NOT NULL,
    set_at      BIGINT NOT NULL,
    PRIMARY KEY (kind, role, territory, currency)
);
INSERT INTO approval_limits_new (kind, role, territory, currency, max_minor, set_by, set_at)
    SELECT 'claim', role, territory, currency, max_minor, set_by, set_at FROM approval_limits;
DROP TABLE approval_limits;
ALTER TABLE approval_limits_new RENAME TO approval_limits;
