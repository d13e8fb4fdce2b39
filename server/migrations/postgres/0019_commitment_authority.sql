-- A manager's commitment authority (issue 9): approval_limits gains a kind. `claim`
-- (every row so far): the largest claim a role approves. `commitment` (role manager):
-- the largest commitment a manager makes without a supervisor's approval; above it the
-- commitment is pending approval (core's schema, rule pending_approval).
ALTER TABLE approval_limits ADD COLUMN kind TEXT NOT NULL DEFAULT 'claim';
ALTER TABLE approval_limits DROP CONSTRAINT approval_limits_pkey;
ALTER TABLE approval_limits ADD PRIMARY KEY (kind, role, territory, currency);
