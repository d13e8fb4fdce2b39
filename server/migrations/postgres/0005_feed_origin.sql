-- The replica that pushed each feed entry (its Automerge actor, hex; '' before
-- this migration or when a client does not say), so a pull skips a replica's
-- own changes in the query instead of sending them back or counting them.
ALTER TABLE feed ADD COLUMN origin TEXT NOT NULL DEFAULT '';
