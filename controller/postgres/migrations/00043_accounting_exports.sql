-- +goose Up
-- Accounting exports (issue 20): every export to QuickBooks Online or Xero
-- is recorded with the documents it carried, so the default export of a
-- period carries only documents not exported before to the same target
-- (--all carries them again, with the same external ids: those derive from
-- the journal transaction's id, reports.ExternalID).
CREATE TABLE accounting_exports (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target        text NOT NULL CHECK (target IN ('quickbooks-journal', 'quickbooks-customers', 'xero-invoices', 'xero-bank')),
    period_from   date NOT NULL,
    period_to     date NOT NULL CHECK (period_to >= period_from),
    all_documents boolean NOT NULL,
    documents     integer NOT NULL,
    created_by    text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL
);

-- The documents an export carried: journal transaction ids, or account
-- ids for the customers target. A document stays with its first export.
CREATE TABLE accounting_exported_documents (
    target    text NOT NULL,
    document  bigint NOT NULL,
    export_id bigint NOT NULL REFERENCES accounting_exports (id),
    PRIMARY KEY (target, document)
);

-- +goose Down
DROP TABLE accounting_exported_documents;
DROP TABLE accounting_exports;
