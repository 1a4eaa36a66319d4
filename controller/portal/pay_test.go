package portal_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// One pay form submitted 20 times at once (an impatient subscriber, a
// flaky connection): exactly one charge reaches the gateway and the ledger,
// and every answer is true — the payment received, or "already being
// processed" with a page that shows it once done; never "you were not
// charged".
func TestPayFormSubmittedTwentyTimesAtOnce(t *testing.T) {
	e := newEnv(t)
	s := e.owing("Lee", "p1", "10.1.0.50", due(-30), 5000)
	e.suspend()
	b := e.browser()
	b.get(strings.TrimPrefix(e.captiveURL(s.service, time.Minute), e.url)).must(t, 200, "Service suspended")
	form := b.payPage()
	values := merge(cardForm(goodCard), url.Values{"csrf": {form.hidden(t, "csrf")}, "key": {form.hidden(t, "key")}, "choice": {"balance"}})

	const n = 20
	type answer struct {
		status int
		url    string
		text   string
		err    error
	}
	answers := make([]answer, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest(http.MethodPost, e.url+"/pay", strings.NewReader(values.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := b.c.Do(req)
			if err != nil {
				answers[i].err = err
				return
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			answers[i] = answer{status: resp.StatusCode, url: resp.Request.URL.String(), text: page{body: string(raw)}.text()}
		}()
	}
	close(start)
	wg.Wait()

	received, processing := 0, 0
	for i, a := range answers {
		switch {
		case a.err != nil:
			t.Fatalf("submit %d: %v", i, a.err)
		case a.status != http.StatusOK:
			t.Fatalf("submit %d: status %d at %s: %s", i, a.status, a.url, a.text)
		case strings.Contains(a.text, "not charged") || strings.Contains(a.text, "could not"):
			t.Errorf("submit %d was told an untruth (the payment went through once): %s", i, a.text)
		case strings.Contains(a.text, "Payment of $50.00 received"):
			received++
		case strings.Contains(a.text, "already being processed"):
			processing++
			// The page shows the payment once it is done.
			b.get(strings.TrimPrefix(a.url, e.url)).must(t, 200, "Payment of $50.00 received")
		default:
			t.Errorf("submit %d: neither received nor being processed: %s", i, a.text)
		}
	}
	t.Logf("%d submitters were shown the payment, %d were told it was being processed", received, processing)
	if received == 0 {
		t.Errorf("no submitter was shown the payment (%d being processed)", processing)
	}
	ctx := context.Background()
	var attempts, payments int
	if err := e.db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM payment_attempts WHERE account_id = $1),
		(SELECT count(*) FROM payments WHERE account_id = $1)`, s.account.ID).Scan(&attempts, &payments); err != nil {
		t.Fatal(err)
	}
	if attempts != 1 || payments != 1 {
		t.Errorf("%d payment attempts and %d payments, want 1 and 1", attempts, payments)
	}
	if bal, err := e.db.Balance(ctx, s.account.ID); err != nil || bal != 0 {
		t.Errorf("balance %d (%v), want 0", bal, err)
	}
	if charges := strings.Count(e.logs.String(), `"msg":"sandbox: payment intent confirmed"`); charges != 1 {
		t.Errorf("the gateway was asked to charge %d times, want 1", charges)
	}
	// The form sent once more, later: the same payment, said so.
	b.post("/pay", values).must(t, 200, "Payment of $50.00 received", "You were charged once")
}
