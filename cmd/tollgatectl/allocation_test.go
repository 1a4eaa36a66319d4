package main

import "testing"

func TestPaymentApplyToAndReallocateEndToEnd(t *testing.T) {
	db, url, jane, _, invs := newPaymentController(t)
	c := cli{t, url}
	id, old, newer := jsonInt(jane.ID), invs[0], invs[1]

	c.fails(`--apply-to "INV-1": want INVOICE:AMOUNT`, "payment", "add", id, "--method", "cash", "--amount", "5", "--apply-to", "INV-1")
	c.fails("apply_to[0].invoice", "payment", "add", id, "--method", "cash", "--amount", "5", "--apply-to", "INV-404:1.00")
	// 30.00 with 20.00 ticked on the newer invoice: 10.00 pays the oldest.
	out := c.ok("payment", "add", id, "--method", "cash", "--amount", "30.00", "--apply-to", newer.Number+":20.00")
	expectRow(t, out, newer.Number, jsonInt(newer.ID), "USD", "20.00")
	expectRow(t, out, old.Number, jsonInt(old.ID), "USD", "10.00")
	p := jsonInt(queryInt(t, db, `SELECT max(id) FROM payments`))

	out = c.ok("payment", "reallocate", p, "--from", newer.Number, "--to", jsonInt(old.ID), "--amount", "15.00")
	expectRow(t, out, old.Number, jsonInt(old.ID), "USD", "25.00")
	expectRow(t, out, newer.Number, jsonInt(newer.ID), "USD", "5.00")
	c.fails("to_invoice", "payment", "reallocate", p, "--from", newer.Number, "--to", newer.Number, "--amount", "1.00")
	c.fails(`required flag(s) "amount" not set`, "payment", "reallocate", p, "--from", newer.Number, "--to", old.Number)
	if n := queryInt(t, db, `SELECT count(*) FROM allocation_events`); n != 4 {
		t.Fatalf("%d allocation events, want 2 applied and 2 reallocated", n)
	}
}
