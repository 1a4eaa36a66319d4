package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/documents"
)

type fileOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	Body               []byte
}

// depositSlip builds the slip of one or more posted batches. EINVALID if a
// batch is still open or the batches are in different currencies.
func (s *Server) depositSlip(ctx context.Context, batches BatchStore, accounts AccountStore, ids []int64) (documents.DepositSlip, error) {
	slip := documents.DepositSlip{Company: s.cfg.Company, PreparedBy: strings.TrimPrefix(actor(ctx), "user:")}
	for _, id := range ids {
		b, err := batches.Batch(ctx, id)
		if err != nil {
			return slip, err
		}
		if b.Status != billing.BatchPosted {
			return slip, billing.Errorf(billing.EINVALID, "payment batch %d is not posted yet; post it before printing its deposit slip", id)
		}
		if slip.DepositDate.IsZero() || b.DepositDate.After(slip.DepositDate) {
			slip.DepositDate = b.DepositDate
		}
		if slip.DepositAccount == "" && slip.BankName == "" {
			// The bank's name is printed as is; only the number is masked.
			slip.BankName, slip.DepositAccount = documents.SplitDepositAccount(b.DepositAccount)
		}
		slip.BatchIDs = append(slip.BatchIDs, id)
		for _, l := range b.Lines {
			a, err := accounts.Account(ctx, l.AccountID)
			if err != nil {
				return slip, err
			}
			if slip.Currency == "" {
				slip.Currency = a.Currency
			} else if slip.Currency != a.Currency {
				return slip, billing.Errorf(billing.EINVALID, "batches mix %s and %s payments; print one slip per currency", slip.Currency, a.Currency)
			}
			slip.Items = append(slip.Items, documents.DepositItem{Kind: string(l.Method), CheckNumber: l.Reference,
				Payer: firstNonEmpty(l.Payer, l.AccountName), AccountNumber: l.AccountNumber, Amount: l.Amount})
		}
	}
	return slip, nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// registerDepositSlips registers the deposit-slip endpoint: the slip of
// posted batches, their lines' accounts read for the currency.
func (s *Server) registerDepositSlips(batches BatchStore, accounts AccountStore) {
	huma.Register(s.api, op("get-deposit-slip", http.MethodGet, "/api/v1/deposit-slips",
		"Deposit slip for one or more posted batches, as PDF or CSV: each check (number, payer, amount), cash, totals", RoleReader, "payment batches"),
		func(ctx context.Context, in *struct {
			Batches []int64 `query:"batch" minItems:"1" maxItems:"50" required:"true" doc:"Batch ids; repeat or comma-separate for a slip of several."`
			Format  string  `query:"format" enum:"pdf,csv" default:"pdf"`
		}) (*fileOutput, error) {
			slip, err := s.depositSlip(ctx, batches, accounts, in.Batches)
			if err != nil {
				return nil, s.toHTTPError("get-deposit-slip", err)
			}
			var buf bytes.Buffer
			out := &fileOutput{}
			names := make([]string, len(in.Batches))
			for i, id := range in.Batches {
				names[i] = strconv.FormatInt(id, 10)
			}
			name := "deposit-slip-" + strings.Join(names, "-")
			if in.Format == "csv" {
				err = documents.RenderDepositSlipCSV(&buf, slip)
				out.ContentType, name = "text/csv; charset=utf-8", name+".csv"
			} else {
				err = documents.RenderDepositSlipPDF(&buf, slip)
				out.ContentType, name = "application/pdf", name+".pdf"
			}
			if err != nil {
				return nil, s.toHTTPError("get-deposit-slip", err)
			}
			out.ContentDisposition = fmt.Sprintf("attachment; filename=%q", name)
			out.Body = buf.Bytes()
			return out, nil
		})
}
