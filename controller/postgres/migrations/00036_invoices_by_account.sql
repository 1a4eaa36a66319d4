-- +goose Up

-- An account's invoices, listed by the staff console's account page, are
-- found through two indexes: its regular invoices through
-- invoices_one_regular_per_period (account_id, period_start), and the
-- others (adjustment, final, credit notes: few) through this small partial
-- index. A full (account_id) index would cost every billing run an index
-- entry per invoice; this one costs it nothing (a regular invoice is not in
-- it).
CREATE INDEX invoices_other_kinds_account_idx ON invoices (account_id, id) WHERE kind <> 'regular';

-- +goose Down
DROP INDEX invoices_other_kinds_account_idx;
