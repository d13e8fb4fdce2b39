-- When a problem was resolved, so a resolved problem's age stops growing
-- (rows written before this migration get it at their document's next commit).
ALTER TABLE rm_problems ADD COLUMN resolved_at BIGINT;
