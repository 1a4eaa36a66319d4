-- +goose Up

-- The blast-radius guard counts, per POP, the active services and the
-- suspensions of the last 30 days: each from a partial index instead of the
-- POP's whole service table and change history.
CREATE INDEX services_active_pop_idx ON services (pop_id) WHERE desired_state = 'active';
CREATE INDEX enforcement_changes_suspensions_idx ON enforcement_changes (pop_id, created_at)
    WHERE desired_state = 'suspended' AND NOT removed;

-- +goose Down
DROP INDEX enforcement_changes_suspensions_idx;
DROP INDEX services_active_pop_idx;
