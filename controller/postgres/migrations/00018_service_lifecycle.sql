-- +goose Up

-- Service lifecycle (issue 16, "Services" and "Plans"): plan and quantity
-- changes, cancellations, pauses, plan price versions. The decisions are
-- the domain core's lifecycle plans; these tables keep what they need.

-- A service's quantity (charge = price × quantity), its pause, whether it
-- was removed from its POP (on_cancel remove: left out of snapshots), the
-- lifecycle hold on its desired state (paused, cancelled: the sweep and a
-- payment's settlement leave it alone; '' for none), and a version for
-- If-Match on lifecycle changes.
ALTER TABLE services
    ADD COLUMN quantity   bigint NOT NULL DEFAULT 1 CHECK (quantity BETWEEN 1 AND 100000),
    ADD COLUMN pause_from date,
    ADD COLUMN pause_to   date,
    ADD COLUMN removed    boolean NOT NULL DEFAULT false,
    ADD COLUMN held       text NOT NULL DEFAULT '' CHECK (held IN ('', 'paused', 'cancelled')),
    ADD COLUMN version    bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
    ADD CONSTRAINT services_pause_check CHECK ((pause_from IS NULL) = (pause_to IS NULL) AND (pause_to IS NULL OR pause_to > pause_from));

-- A service's terms history: from effective on, it is billed plan ×
-- quantity. A service with no rows is billed at services.plan_id and
-- quantity; its first change writes its first terms too.
CREATE TABLE service_terms (
    service_id bigint NOT NULL REFERENCES services (id),
    effective  date NOT NULL,
    plan_id    bigint NOT NULL REFERENCES plans (id),
    quantity   bigint NOT NULL CHECK (quantity BETWEEN 1 AND 100000),
    PRIMARY KEY (service_id, effective)
);

-- A service's invoiced coverage: the days invoices (and lifecycle lines)
-- have charged, each span with its basis (price over its plan period).
-- Spans of a service never overlap; a lifecycle change replaces the
-- service's spans with its plan's coverage. No foreign key to services
-- (never deleted): the billing run COPYs a span per service and period,
-- and a key check would lock every billed service's row.
CREATE TABLE service_billed_spans (
    service_id   bigint NOT NULL,
    from_date    date NOT NULL,
    to_date      date NOT NULL CHECK (to_date > from_date),
    period_start date NOT NULL,
    period_end   date NOT NULL CHECK (period_end > period_start),
    plan_id      bigint,
    plan_name    text NOT NULL,
    unit_price   bigint NOT NULL,
    quantity     bigint NOT NULL,
    price        bigint NOT NULL CHECK (price >= 0),
    taxable      boolean NOT NULL DEFAULT false,
    hold         boolean NOT NULL DEFAULT false,
    PRIMARY KEY (service_id, from_date)
);

-- The coverage of what was invoiced before this migration: each recurring
-- line of a monthly plan, not voided, over its invoice's period at its
-- plan's price (plans had one price until now, and a monthly plan's period
-- is the account's period).
INSERT INTO service_billed_spans (service_id, from_date, to_date, period_start, period_end, plan_id, plan_name,
        unit_price, quantity, price, taxable, hold)
    SELECT l.service_id, l.period_start, l.period_end, i.period_start, i.period_end, p.id, p.name, p.price, 1, p.price, l.taxable, false
    FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id JOIN services s ON s.id = l.service_id JOIN plans p ON p.id = s.plan_id
    WHERE l.kind = 'recurring' AND l.period_start IS NOT NULL AND l.period_end > l.period_start AND i.status <> 'void'
        AND p.interval = 'monthly' AND l.period_start >= i.period_start AND l.period_end <= i.period_end
    ON CONFLICT DO NOTHING;

-- A lifecycle change's lines for the next invoice wait as one-time charges
-- (the billing run takes each exactly once): credits are negative, and a
-- line for a service's days names the service and the days.
ALTER TABLE one_time_charges
    DROP CONSTRAINT one_time_charges_amount_check,
    ADD CONSTRAINT one_time_charges_amount_check CHECK (amount <> 0),
    ADD COLUMN service_id   bigint REFERENCES services (id),
    ADD COLUMN period_start date,
    ADD COLUMN period_end   date;

-- An adjustment invoice carries a change invoiced at once, beside the
-- period's regular invoice: one regular invoice per (account, period).
ALTER TABLE invoices
    ADD COLUMN kind text NOT NULL DEFAULT 'regular' CHECK (kind IN ('regular', 'adjustment')),
    DROP CONSTRAINT invoices_account_id_period_start_key;
CREATE UNIQUE INDEX invoices_one_regular_per_period ON invoices (account_id, period_start) WHERE kind = 'regular';

-- Plan price versions (never edited) and retired plans (no new services).
CREATE TABLE plan_price_versions (
    plan_id        bigint NOT NULL REFERENCES plans (id),
    effective_from date NOT NULL,
    price          bigint NOT NULL CHECK (price >= 0),
    grandfather    boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL,
    PRIMARY KEY (plan_id, effective_from)
);
ALTER TABLE plans ADD COLUMN retired_at timestamptz;

-- Desired-state changes a lifecycle plan dates in the future (a cancel, a
-- pause, a resume): a periodic job writes each through the outbox at local
-- midnight of on_date and marks it done.
CREATE TABLE scheduled_enforcement (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service_id bigint NOT NULL REFERENCES services (id),
    on_date    date NOT NULL,
    state      text NOT NULL DEFAULT '' CHECK (state IN ('', 'active', 'suspended')),
    remove     boolean NOT NULL DEFAULT false,
    cause      text NOT NULL CHECK (cause IN ('cancelled', 'paused', 'resumed')),
    reason     text NOT NULL,
    actor      text NOT NULL,
    created_at timestamptz NOT NULL,
    done_at    timestamptz,
    superseded boolean NOT NULL DEFAULT false
);
CREATE INDEX scheduled_enforcement_due_idx ON scheduled_enforcement (on_date) WHERE done_at IS NULL;

-- +goose Down
DROP TABLE scheduled_enforcement;
ALTER TABLE plans DROP COLUMN retired_at;
DROP TABLE plan_price_versions;
DROP INDEX invoices_one_regular_per_period;
ALTER TABLE invoices DROP COLUMN kind, ADD CONSTRAINT invoices_account_id_period_start_key UNIQUE (account_id, period_start);
ALTER TABLE one_time_charges DROP COLUMN period_end, DROP COLUMN period_start, DROP COLUMN service_id,
    DROP CONSTRAINT one_time_charges_amount_check, ADD CONSTRAINT one_time_charges_amount_check CHECK (amount > 0);
DROP TABLE service_billed_spans;
DROP TABLE service_terms;
ALTER TABLE services DROP CONSTRAINT services_pause_check, DROP COLUMN version, DROP COLUMN removed,
    DROP COLUMN held, DROP COLUMN pause_to, DROP COLUMN pause_from, DROP COLUMN quantity;
