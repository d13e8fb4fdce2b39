-- Who carries an expense claim now (issue 9, territory handover): its `owner` when the
-- incoming manager took it over, else its requester (core's `ExpenseClaim::holder`).
-- Rows written before this column read as their requester until the claim changes.
ALTER TABLE rm_claims ADD COLUMN owner TEXT;
