-- Territory handover (交接, issue 9 item 5): head office or the territory's regional manager
-- hands a territory from one manager to another. The handover is the authority's input (like
-- approval_limits): it changes user_territories in the same transaction. The outgoing manager
-- keeps reading the territory until it is completed or its deadline passes; edits they
-- recorded before the reassignment are accepted until late_until (core's late rule).
CREATE TABLE handovers (
    id            TEXT PRIMARY KEY,
    territory     TEXT NOT NULL,
    from_user     TEXT NOT NULL,
    to_user       TEXT NOT NULL,
    by_user       TEXT NOT NULL,
    reassigned_at BIGINT NOT NULL,
    late_until    BIGINT NOT NULL,
    deadline      BIGINT NOT NULL,
    completed_at  BIGINT,
    -- Who completed it, or 'deadline' when its deadline passed first.
    completed_by  TEXT
);
CREATE UNIQUE INDEX handovers_one_open ON handovers(territory) WHERE completed_at IS NULL;
CREATE INDEX handovers_from_user ON handovers(from_user);
CREATE INDEX handovers_to_user ON handovers(to_user);

-- The outgoing manager's open items (core's model::handover::open_items): a snapshot at
-- reassignment, and (late = 1) records they synced afterwards.
CREATE TABLE handover_items (
    handover    TEXT NOT NULL,
    dealer      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    record      TEXT NOT NULL,
    title       TEXT NOT NULL,
    since       BIGINT NOT NULL,
    listed_at   BIGINT NOT NULL,
    late        BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (handover, dealer, kind, record)
);

-- Read model: each record's review in a handover (core's model::handover::review_of),
-- materialised from the dealer document like rm_claims.
CREATE TABLE rm_handover_reviews (
    dealer      TEXT NOT NULL,
    territory   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    record      TEXT NOT NULL,
    handover    TEXT NOT NULL,
    state       TEXT NOT NULL,
    reason      TEXT,
    by_user     TEXT NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (dealer, kind, record, handover)
);
CREATE INDEX rm_handover_reviews_handover ON rm_handover_reviews(handover);

-- Late edits of the outgoing manager the server held (rule handed_over): never acknowledged,
-- never deleted; the incoming manager or head office releases (re-ingests) or declines them.
CREATE TABLE handover_held (
    handover    TEXT NOT NULL,
    doc         TEXT NOT NULL,
    hash        TEXT NOT NULL,
    change      BYTEA NOT NULL,
    -- The order the device sent them in (an applicable order).
    position    BIGINT NOT NULL,
    device      TEXT NOT NULL,
    stamped_at  BIGINT,
    received_at BIGINT NOT NULL,
    -- held, released or declined.
    state       TEXT NOT NULL DEFAULT 'held',
    decided_by  TEXT,
    decided_at  BIGINT,
    PRIMARY KEY (handover, doc, hash)
);
