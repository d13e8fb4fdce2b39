-- Head office's lists sort and filter every territory at once: index the orders
-- (newest visit, oldest claim, problem, due commitment) and the per-person filters,
-- and the manager lookup every `manager=` filter runs.
CREATE INDEX rm_visits_at ON rm_visits(at, id);
CREATE INDEX rm_visits_manager_at ON rm_visits(manager, at);
CREATE INDEX rm_claims_requested_at ON rm_claims(requested_at, id);
CREATE INDEX rm_claims_requested_by ON rm_claims(requested_by, requested_at);
CREATE INDEX rm_problems_raised_at ON rm_problems(raised_at, id);
CREATE INDEX rm_commitments_due ON rm_commitments(due, id);
CREATE INDEX rm_commitments_owner ON rm_commitments(owner, due);
CREATE INDEX rm_territory_managers_user ON rm_territory_managers(user_id, territory);
