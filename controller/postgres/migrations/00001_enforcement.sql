-- +goose Up

-- A POP (point of presence: tower, OLT, BNG site) groups the services one
-- agent enforces. revision is the POP's enforcement revision counter: every
-- change to the desired state of one of its services takes the next value by
-- updating this row, so the row lock serialises writers per POP and revisions
-- become visible in commit order (an agent that has seen revision N has seen
-- every revision below N).
CREATE TABLE pops (
    id                 text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    name               text NOT NULL DEFAULT '',
    revision           bigint NOT NULL DEFAULT 0 CHECK (revision >= 0),
    -- Changes at or below this revision have been compacted away; an agent
    -- behind it gets a snapshot.
    compacted_revision bigint NOT NULL DEFAULT 0 CHECK (compacted_revision <= revision),
    created_at         timestamptz NOT NULL
);

CREATE TABLE services (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pop_id             text NOT NULL REFERENCES pops (id),
    name               text NOT NULL DEFAULT '',
    -- Enforcement binding: how the agent finds the subscriber on the network.
    method             text NOT NULL CHECK (method IN ('log', 'routeros', 'radius', 'snmp')),
    addresses          text[] NOT NULL DEFAULT '{}',
    radius_username    text NOT NULL DEFAULT '',
    device             text NOT NULL DEFAULT '',
    if_index           integer NOT NULL DEFAULT 0 CHECK (if_index >= 0),
    desired_state      text NOT NULL CHECK (desired_state IN ('active', 'suspended')),
    state_reason       text NOT NULL DEFAULT '',
    -- Revision (of the POP's counter) at which the current desired state and
    -- binding were decided.
    revision           bigint NOT NULL,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    -- What the POP's agent last reported for this service.
    confirmed_revision bigint NOT NULL DEFAULT 0,
    observed_state     text NOT NULL DEFAULT '' CHECK (observed_state IN ('', 'active', 'suspended')),
    last_confirmed_at  timestamptz,
    last_error         text NOT NULL DEFAULT '',
    last_result_at     timestamptz
);
CREATE INDEX services_pop_idx ON services (pop_id, id);

-- The transactional outbox of enforcement decisions. Each row is
-- self-contained (the service's full desired state at that revision), so a
-- delta can be sent without joining back to services.
CREATE TABLE enforcement_changes (
    pop_id          text NOT NULL REFERENCES pops (id),
    revision        bigint NOT NULL,
    service_id      bigint NOT NULL,
    desired_state   text NOT NULL CHECK (desired_state IN ('active', 'suspended')),
    reason          text NOT NULL DEFAULT '',
    method          text NOT NULL,
    addresses       text[] NOT NULL DEFAULT '{}',
    radius_username text NOT NULL DEFAULT '',
    device          text NOT NULL DEFAULT '',
    if_index        integer NOT NULL DEFAULT 0,
    removed         boolean NOT NULL DEFAULT false,
    actor           text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (pop_id, revision)
);

-- One row per agent instance that has reported for a POP.
CREATE TABLE agents (
    pop_id           text NOT NULL REFERENCES pops (id),
    agent_id         text NOT NULL,
    version          text NOT NULL DEFAULT '',
    applied_revision bigint NOT NULL DEFAULT 0,
    connected_at     timestamptz,
    last_report_at   timestamptz,
    PRIMARY KEY (pop_id, agent_id)
);

-- Responses of mutating API calls by Idempotency-Key, replayed on retry.
CREATE TABLE idempotency_keys (
    principal     text NOT NULL,
    key           text NOT NULL,
    method        text NOT NULL,
    path          text NOT NULL,
    request_hash  bytea NOT NULL,
    -- NULL while the first request is still being executed.
    status_code   integer,
    response_type text NOT NULL DEFAULT '',
    response_body bytea,
    locked_at     timestamptz NOT NULL,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE agents;
DROP TABLE enforcement_changes;
DROP TABLE services;
DROP TABLE pops;
