-- +goose Up
-- Service profiles (issue 17): a plan's speed, versioned like its price,
-- and "throttled" as a desired state.

-- Profile versions of a plan, never edited: a change adds one. profile is
-- the billing.EdgeProfile (rates, bursts, vendor overrides and the name
-- "<plan>.v<version>" the edge knows it by); NULL is "no profile" (access
-- only: Tollgate sets no speed). Version 0 is never stored: a plan created
-- without a profile has none.
CREATE TABLE plan_profile_versions (
    plan_id    bigint NOT NULL REFERENCES plans (id),
    version    integer NOT NULL CHECK (version > 0),
    profile    jsonb,
    actor      text NOT NULL DEFAULT '',
    reason     text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    PRIMARY KEY (plan_id, version)
);
-- The plan's current profile (its latest version's) and that version's
-- number, read by the outbox writer with each desired-state change.
ALTER TABLE plans ADD COLUMN profile jsonb, ADD COLUMN profile_version integer NOT NULL DEFAULT 0;

ALTER TABLE services DROP CONSTRAINT services_desired_state_check,
    ADD CONSTRAINT services_desired_state_check CHECK (desired_state IN ('active', 'suspended', 'throttled')),
    DROP CONSTRAINT services_observed_state_check,
    ADD CONSTRAINT services_observed_state_check CHECK (observed_state IN ('', 'active', 'suspended', 'throttled')),
    -- The profile the service's current revision carries (NULL: none), for
    -- snapshots; and the name of the profile the agent last read back.
    ADD COLUMN profile jsonb,
    ADD COLUMN observed_profile text NOT NULL DEFAULT '';
-- A plan's services not yet at its current profile, found by the fan-out.
CREATE INDEX services_plan_idx ON services (plan_id, id) WHERE NOT removed;

ALTER TABLE enforcement_changes DROP CONSTRAINT enforcement_changes_desired_state_check,
    ADD CONSTRAINT enforcement_changes_desired_state_check CHECK (desired_state IN ('active', 'suspended', 'throttled')),
    ADD COLUMN profile jsonb;
-- The blast-radius guard's history counts the records that lose service:
-- suspended and throttled (never the active ones a profile change writes).
DROP INDEX enforcement_changes_suspensions_idx;
CREATE INDEX enforcement_changes_suspensions_idx ON enforcement_changes (pop_id, created_at)
    WHERE desired_state IN ('suspended', 'throttled') AND NOT removed;

-- +goose Down
DROP INDEX enforcement_changes_suspensions_idx;
CREATE INDEX enforcement_changes_suspensions_idx ON enforcement_changes (pop_id, created_at)
    WHERE desired_state = 'suspended' AND NOT removed;
ALTER TABLE enforcement_changes DROP COLUMN profile,
    DROP CONSTRAINT enforcement_changes_desired_state_check,
    ADD CONSTRAINT enforcement_changes_desired_state_check CHECK (desired_state IN ('active', 'suspended'));
DROP INDEX services_plan_idx;
ALTER TABLE services DROP COLUMN observed_profile, DROP COLUMN profile,
    DROP CONSTRAINT services_observed_state_check,
    ADD CONSTRAINT services_observed_state_check CHECK (observed_state IN ('', 'active', 'suspended')),
    DROP CONSTRAINT services_desired_state_check,
    ADD CONSTRAINT services_desired_state_check CHECK (desired_state IN ('active', 'suspended'));
ALTER TABLE plans DROP COLUMN profile_version, DROP COLUMN profile;
DROP TABLE plan_profile_versions;
