-- Approval limits head office sets (PUT /api/approval-limits): the largest claim a role
-- approves, in a currency, in one territory or ('' ) every territory without its own.
-- The server checks every pushed approval against them (core's schema, rule approval_limit).
CREATE TABLE approval_limits (
    role        TEXT NOT NULL,
    territory   TEXT NOT NULL DEFAULT '',
    currency    TEXT NOT NULL,
    max_minor   BIGINT NOT NULL,
    set_by      TEXT NOT NULL,
    set_at      BIGINT NOT NULL,
    PRIMARY KEY (role, territory, currency)
);
