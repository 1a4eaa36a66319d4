-- +goose Up

-- Job-runner leases: every controller's job runner renews its row every few
-- seconds (database time) while it runs. A job still "running" under a
-- runner whose lease has lapsed was interrupted by a crash and is made
-- available again at once, instead of after River's stuck-job rescue.
CREATE TABLE job_runner_leases (
    client_id  text PRIMARY KEY,
    renewed_at timestamptz NOT NULL
);

-- The dev/demo clock (dev.clock_api): its offset from the real time, kept
-- across restarts. One row at most.
CREATE TABLE dev_clock (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    offset_us  bigint NOT NULL,
    updated_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE dev_clock;
DROP TABLE job_runner_leases;
