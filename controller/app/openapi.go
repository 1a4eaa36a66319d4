package app

import (
	"bytes"
	"encoding/json"
	"log/slog"

	"github.com/tollgate-isp/tollgate/controller/api"
	"github.com/tollgate-isp/tollgate/controller/charge"
	"github.com/tollgate-isp/tollgate/controller/delivery"
	"github.com/tollgate-isp/tollgate/controller/jobs"
	"github.com/tollgate-isp/tollgate/controller/payments"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// adminAPIDeps wires the admin API to the controller's stores and
// services: the one list of what the API serves, used by the running
// controller and by [OpenAPIDocument].
func adminAPIDeps(db *postgres.DB, charger *charge.Service, runner *jobs.Runner, devClock api.DevClock, deliverySvc api.DeliveryService) api.Deps {
	return api.Deps{Services: db, Idempotency: db, Billing: db, Payments: db, Charger: charger, Methods: db, Runner: runner,
		Accounts: db, Lifecycle: db, AccountClose: db, PlanPrices: db, TypeImpacts: db, DevClock: devClock, Importer: db,
		Collections: db, Delivery: deliverySvc, Tickets: db, ServiceMoves: db, Allocations: db, AddressPools: db, Staff: db}
}

// OpenAPIDocument returns the admin API's OpenAPI document as a running
// controller serves it at /api/v1/openapi.json (without the development
// clock's endpoints, which only a dev.clock_api controller serves),
// without a database: for client generators and `make lint`.
func OpenAPIDocument() ([]byte, error) {
	// Typed nils: registering the routes calls none of them.
	var db *postgres.DB
	var runner *jobs.Runner
	var deliverySvc *delivery.Service
	// The default gateway, the sandbox, as a controller with the default
	// config serves it.
	charger := charge.New(payments.NewSandbox(), db, clock.Real{}, slog.New(slog.DiscardHandler))
	srv := api.NewServer(api.Config{Version: Version}, adminAPIDeps(db, charger, runner, nil, deliverySvc),
		nil, clock.Real{}, slog.New(slog.DiscardHandler), nil)
	doc, err := srv.OpenAPIDocument()
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, doc, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}
