-- What came of an activity and the claim its budget became (issue 10, item 2): counts of the
-- downline customers invited and attended, the headcount, the result, the photos, the claim id.
-- Documents stored before this migration hold none of these (core's schema refused them until
-- now), so the defaults are their true values and no backfill is needed.
ALTER TABLE rm_activities ADD COLUMN invited BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rm_activities ADD COLUMN attended BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rm_activities ADD COLUMN attendance BIGINT;
ALTER TABLE rm_activities ADD COLUMN result TEXT;
ALTER TABLE rm_activities ADD COLUMN photos BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rm_activities ADD COLUMN claim TEXT;
