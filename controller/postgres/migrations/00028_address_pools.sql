-- +goose Up

-- IP address management (issue 17): address pools per POP, the addresses
-- bound to services (by hand or allocated from a pool), and the addresses
-- the POP's agent learned from DHCP leases and RADIUS accounting.

-- A pool of a POP: an IPv4 or IPv6 prefix whose blocks of
-- delegation_length (one address, or a delegated IPv6 prefix) are handed
-- to services. Pools never overlap (an address belongs to at most one
-- pool). excluded holds addresses, prefixes or ranges FIRST-LAST as text,
-- checked by billing.AddressPool.Validate.
CREATE TABLE address_pools (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pop_id            text NOT NULL REFERENCES pops (id),
    name              text NOT NULL UNIQUE,
    prefix            cidr NOT NULL,
    delegation_length integer NOT NULL CHECK (delegation_length BETWEEN masklen(prefix) AND CASE family(prefix) WHEN 4 THEN 32 ELSE 128 END),
    gateway           inet CHECK (gateway <<= prefix),
    excluded          text[] NOT NULL DEFAULT '{}',
    quarantine        interval NOT NULL,
    created_at        timestamptz NOT NULL,
    CONSTRAINT address_pools_no_overlap EXCLUDE USING gist (prefix inet_ops WITH &&)
);
CREATE INDEX address_pools_pop_idx ON address_pools (pop_id, id);

-- An address (or prefix) inside a pool that a service's binding holds
-- (addresses outside every pool are the ISP's own business and not
-- tracked; a pool created over addresses services hold already adopts
-- them as static assignments). A bound row
-- (released_at NULL) excludes every overlapping bound row: the same
-- address bound twice is refused by the database even if two
-- transactions race past the store's own check. A released row stays as
-- history; until reuse_after its block is not allocated again.
CREATE TABLE address_assignments (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    address     cidr NOT NULL,
    service_id  bigint NOT NULL REFERENCES services (id),
    assigned_at timestamptz NOT NULL,
    -- allocated: taken from a pool by the controller; static: typed in.
    origin      text NOT NULL CHECK (origin IN ('allocated', 'static')),
    released_at timestamptz,
    reuse_after timestamptz,
    CHECK ((released_at IS NULL) = (reuse_after IS NULL)),
    CONSTRAINT address_assignments_bound_once EXCLUDE USING gist (address inet_ops WITH &&) WHERE (released_at IS NULL)
);
CREATE INDEX address_assignments_service_idx ON address_assignments (service_id) WHERE released_at IS NULL;
-- The quarantined blocks a pool's allocation skips.
CREATE INDEX address_assignments_quarantine_idx ON address_assignments USING gist (address inet_ops) WHERE released_at IS NOT NULL;

-- What a POP's agent learned: a service's address from a DHCP lease file
-- or RADIUS accounting. The controller uses it where the service has no
-- address of its own. expires_at: the lease's end (NULL: until replaced).
CREATE TABLE learned_addresses (
    service_id  bigint NOT NULL REFERENCES services (id),
    address     cidr NOT NULL,
    pop_id      text NOT NULL REFERENCES pops (id),
    source      text NOT NULL CHECK (source IN ('dhcp', 'radius')),
    learned_at  timestamptz NOT NULL,
    expires_at  timestamptz,
    PRIMARY KEY (service_id, address)
);
-- The captive portal API finds a subscriber by the address it comes from.
CREATE INDEX learned_addresses_address_idx ON learned_addresses USING gist (address inet_ops);

-- +goose Down
DROP TABLE learned_addresses;
DROP TABLE address_assignments;
DROP TABLE address_pools;
