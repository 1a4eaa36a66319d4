package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// DevClock moves the controller's clock forward in dev/demo mode and runs
// the work that falls due, in order.
type DevClock interface {
	// Advance moves time forward by d in steps, running each step's due
	// billing runs to completion before the next. It returns the new time
	// and the runs it opened. No coded errors: an error is the store's or
	// a run's that did not finish in time (time has moved up to the step
	// it returns).
	Advance(ctx context.Context, d time.Duration) (time.Time, []billing.BillingRun, error)
}

type advanceOutput struct {
	Now  time.Time            `json:"now"`
	Runs []billing.BillingRun `json:"runs"`
}

func (s *Server) registerDev() {
	huma.Register(s.api, op("dev-advance-clock", http.MethodPost, "/api/v1/dev/clock/advance",
		"Dev/demo mode only: move the controller's clock forward and run what falls due, in order", RoleAdmin, "dev"),
		func(ctx context.Context, in *body[struct {
			Duration string `json:"duration" required:"true" doc:"How far: a Go duration (\"36h\") or days (\"30d\")." example:"30d"`
		}]) (*body[advanceOutput], error) {
			d, err := parseDays(in.Body.Duration)
			if err != nil {
				return nil, huma.Error422UnprocessableEntity(err.Error())
			}
			now, runs, err := s.devClock.Advance(ctx, d)
			if err != nil {
				return nil, s.toHTTPError("dev-advance-clock", err)
			}
			if runs == nil {
				runs = []billing.BillingRun{}
			}
			return &body[advanceOutput]{Body: advanceOutput{Now: now, Runs: runs}}, nil
		})
	huma.Register(s.api, op("dev-get-clock", http.MethodGet, "/api/v1/dev/clock", "Dev/demo mode only: the controller's current time", RoleReader, "dev"),
		func(ctx context.Context, _ *struct{}) (*body[advanceOutput], error) {
			return &body[advanceOutput]{Body: advanceOutput{Now: s.clock.Now(), Runs: []billing.BillingRun{}}}, nil
		})
}
