-- +goose Up
-- A plan change dated later schedules the new plan's speed for its
-- effective date (cause plan_changed): the job writes the revision
-- carrying the new profile then, not when the change is made.
ALTER TABLE scheduled_enforcement DROP CONSTRAINT scheduled_enforcement_cause_check,
    ADD CONSTRAINT scheduled_enforcement_cause_check CHECK (cause IN ('cancelled', 'paused', 'resumed', 'plan_changed'));
-- The plan whose speed (profile) the service has while a plan change
-- waits for its effective date; NULL: plan_id's.
ALTER TABLE services ADD COLUMN speed_plan_id bigint REFERENCES plans (id);

-- +goose Down
ALTER TABLE services DROP COLUMN speed_plan_id;
DELETE FROM scheduled_enforcement WHERE cause = 'plan_changed';
ALTER TABLE scheduled_enforcement DROP CONSTRAINT scheduled_enforcement_cause_check,
    ADD CONSTRAINT scheduled_enforcement_cause_check CHECK (cause IN ('cancelled', 'paused', 'resumed'));
