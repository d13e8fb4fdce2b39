-- A conflict's stable id (core's `Conflict::id`, the same on every replica) and its kind
-- (`field`, `steps`: two steps of one rank taken concurrently, `rule`), so head office can resolve it.
-- Rows written before this migration get theirs when their document next changes.
ALTER TABLE rm_conflicts ADD COLUMN conflict_id TEXT NOT NULL DEFAULT '';
ALTER TABLE rm_conflicts ADD COLUMN kind TEXT NOT NULL DEFAULT 'field';
