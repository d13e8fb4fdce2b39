-- Visit photos, addressed by the SHA-256 of their bytes: a device uploads a photo
-- after the visit that names it; the hash in the document is the only way to ask for it.
CREATE TABLE photos (
    hash        TEXT PRIMARY KEY,
    mime        TEXT NOT NULL,
    bytes       BYTEA NOT NULL,
    size        BIGINT NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at BIGINT NOT NULL
);
