-- Sessions and photo access.
-- Users can be disabled; device tokens can expire and record who issued them
-- ('cli' for the command line, else the issuing user's id).
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
ALTER TABLE devices ADD COLUMN expires_at BIGINT;
ALTER TABLE devices ADD COLUMN issued_by TEXT;

-- One-time login codes: a login link carries the code, never the token. The
-- token is kept sealed with the code (see auth.rs) until the code is used,
-- then erased; only the code's SHA-256 is stored.
CREATE TABLE login_codes (
    code_hash   TEXT PRIMARY KEY,
    device      TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    sealed      TEXT,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);

-- Which device stored each photo (the per-device upload quota).
ALTER TABLE photos ADD COLUMN device TEXT;
CREATE INDEX photos_device_at ON photos(device, uploaded_at);

-- Which documents (and so which territories) name each photo: a photo is
-- readable only by readers of one of them. Written with the read model.
CREATE TABLE photo_refs (
    hash        TEXT NOT NULL,
    doc         TEXT NOT NULL,
    territory   TEXT NOT NULL,
    PRIMARY KEY (hash, doc)
);
CREATE INDEX photo_refs_doc ON photo_refs(doc);
-- Documents committed before this migration are indexed once by the server
-- (in the background after it starts); this row is deleted when that is done.
CREATE TABLE photo_refs_backfill (pending BIGINT NOT NULL);
INSERT INTO photo_refs_backfill (pending) VALUES (1);
