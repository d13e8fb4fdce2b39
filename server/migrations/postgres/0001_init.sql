-- fieldsync schema (PostgreSQL): identities, documents, per-territory change feeds and the read model.

CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- Territories assigned to a user by an administrator.
CREATE TABLE user_territories (
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    territory   TEXT NOT NULL,
    PRIMARY KEY (user_id, territory)
);

-- Device tokens are stored as the SHA-256 of the token, never in clear.
CREATE TABLE devices (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    label       TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

-- The merged Automerge document; `version` guards concurrent writers.
CREATE TABLE documents (
    id          TEXT PRIMARY KEY,
    territory   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    version     BIGINT NOT NULL,
    snapshot    BYTEA NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX documents_territory ON documents(territory);

-- One row per territory: the last feed sequence number, locked by each writer.
CREATE TABLE feed_counters (
    territory   TEXT PRIMARY KEY,
    seq         BIGINT NOT NULL
);

-- Every accepted change, once, numbered per territory in commit order.
CREATE TABLE feed (
    territory   TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    doc         TEXT NOT NULL,
    hash        TEXT NOT NULL,
    change      BYTEA NOT NULL,
    device      TEXT,
    committed_at BIGINT NOT NULL,
    PRIMARY KEY (territory, seq)
);
CREATE UNIQUE INDEX feed_doc_hash ON feed(doc, hash);

-- Read model, materialised from the documents after each commit.
CREATE TABLE rm_territories (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    region      TEXT NOT NULL
);

CREATE TABLE rm_territory_managers (
    territory   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    PRIMARY KEY (territory, user_id)
);

CREATE TABLE rm_dealers (
    id               TEXT PRIMARY KEY,
    territory        TEXT NOT NULL,
    name             TEXT NOT NULL,
    kind             TEXT NOT NULL,
    tier             BIGINT NOT NULL,
    status           TEXT NOT NULL,
    last_visit_at    BIGINT,
    open_commitments BIGINT NOT NULL,
    open_problems    BIGINT NOT NULL
);
CREATE INDEX rm_dealers_territory ON rm_dealers(territory);

CREATE TABLE rm_visits (
    id          TEXT NOT NULL,
    dealer      TEXT NOT NULL,
    territory   TEXT NOT NULL,
    manager     TEXT NOT NULL,
    at          BIGINT NOT NULL,
    purposes    TEXT NOT NULL,
    summary     TEXT NOT NULL,
    lat         DOUBLE PRECISION,
    lon         DOUBLE PRECISION,
    accuracy_m  DOUBLE PRECISION,
    PRIMARY KEY (dealer, id)
);
CREATE INDEX rm_visits_territory_at ON rm_visits(territory, at);

CREATE TABLE rm_commitments (
    id          TEXT NOT NULL,
    dealer      TEXT NOT NULL,
    territory   TEXT NOT NULL,
    what        TEXT NOT NULL,
    to_whom     TEXT NOT NULL,
    owner       TEXT NOT NULL,
    made_by     TEXT NOT NULL,
    made_at     BIGINT NOT NULL,
    due         TEXT NOT NULL,
    amount_minor BIGINT,
    currency    TEXT,
    status      TEXT NOT NULL,
    PRIMARY KEY (dealer, id)
);
CREATE INDEX rm_commitments_territory ON rm_commitments(territory);

CREATE TABLE rm_claims (
    id          TEXT NOT NULL,
    dealer      TEXT NOT NULL,
    territory   TEXT NOT NULL,
    category    TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    currency    TEXT NOT NULL,
    spent_minor BIGINT,
    status      TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    PRIMARY KEY (dealer, id)
);
CREATE INDEX rm_claims_territory ON rm_claims(territory);

CREATE TABLE rm_problems (
    id          TEXT NOT NULL,
    dealer      TEXT NOT NULL,
    territory   TEXT NOT NULL,
    category    TEXT NOT NULL,
    severity    TEXT NOT NULL,
    title       TEXT NOT NULL,
    status      TEXT NOT NULL,
    raised_at   BIGINT NOT NULL,
    escalated   BIGINT NOT NULL,
    PRIMARY KEY (dealer, id)
);
CREATE INDEX rm_problems_territory ON rm_problems(territory);

CREATE TABLE rm_conflicts (
    doc         TEXT NOT NULL,
    dealer      TEXT,
    territory   TEXT NOT NULL,
    path        TEXT NOT NULL,
    winner      TEXT NOT NULL,
    others      TEXT NOT NULL,
    PRIMARY KEY (doc, path)
);
