-- A login secret (PIN or passphrase) each user may hold, so a login link is of no
-- use to anyone but its person: redeeming a code of a user with a secret needs
-- it, and the first redeemer of a user without one sets it (server/src/secret.rs).
-- Only an Argon2id PHC string is stored, never the secret.
ALTER TABLE users ADD COLUMN secret_hash TEXT;
ALTER TABLE users ADD COLUMN secret_set_at BIGINT;
-- The last reset by head office or an admin (who, when): shown to the user.
ALTER TABLE users ADD COLUMN secret_reset_by TEXT;
ALTER TABLE users ADD COLUMN secret_reset_at BIGINT;
-- Wrong secrets in a row, and until when the user's secret is not tried at all.
ALTER TABLE users ADD COLUMN secret_failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN secret_locked_until BIGINT;
-- Wrong secrets given with one login code: too many burn it.
ALTER TABLE login_codes ADD COLUMN secret_failures BIGINT NOT NULL DEFAULT 0;
