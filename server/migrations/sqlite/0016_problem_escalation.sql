-- Problems escalated to head office (core's problem `escalation` lifecycle): who owns a
-- problem, who escalated it and when, head office's answer (who, when, what, assigned to whom).
ALTER TABLE rm_problems ADD COLUMN owner TEXT;
ALTER TABLE rm_problems ADD COLUMN escalated_by TEXT;
ALTER TABLE rm_problems ADD COLUMN escalated_at BIGINT;
ALTER TABLE rm_problems ADD COLUMN responded_by TEXT;
ALTER TABLE rm_problems ADD COLUMN responded_at BIGINT;
ALTER TABLE rm_problems ADD COLUMN response TEXT;
ALTER TABLE rm_problems ADD COLUMN assigned_to TEXT;
ALTER TABLE rm_problems ADD COLUMN resolved_by TEXT;
CREATE INDEX rm_problems_escalated_at ON rm_problems(escalated_at);
