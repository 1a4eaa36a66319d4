package app

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/charge"
	"github.com/tollgate-isp/tollgate/controller/delivery"
	"github.com/tollgate-isp/tollgate/controller/jobs"
	"github.com/tollgate-isp/tollgate/controller/postgres"
)

// TestAdminAPIDepsWireEveryEndpointGroup: every dependency slot of the
// API but the development clock is filled, so a slot added to api.Deps
// and forgotten here fails (the controller would not serve it, and the
// published document would not list it).
func TestAdminAPIDepsWireEveryEndpointGroup(t *testing.T) {
	var db *postgres.DB
	var runner *jobs.Runner
	var deliverySvc *delivery.Service
	deps := reflect.ValueOf(adminAPIDeps(db, &charge.Service{}, runner, nil, deliverySvc))
	for i := range deps.NumField() {
		name := deps.Type().Field(i).Name
		if name != "DevClock" && deps.Field(i).IsZero() {
			t.Errorf("adminAPIDeps leaves api.Deps.%s unset", name)
		}
	}
}

func TestOpenAPIDocumentListsTheAPI(t *testing.T) {
	b, err := OpenAPIDocument()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi %q, want 3.1.x", doc.OpenAPI)
	}
	for _, p := range []string{"/api/v1/services", "/api/v1/accounts/{id}/payments", "/api/v1/payment-batches/{id}/import",
		"/api/v1/accounts/{id}/payment-methods", "/api/v1/deliveries", "/api/v1/tickets", "/api/v1/accounts/{id}/close"} {
		if _, ok := doc.Paths[p]; !ok {
			t.Errorf("the document lacks %s", p)
		}
	}
	if _, ok := doc.Paths["/api/v1/dev/clock/advance"]; ok {
		t.Error("the document lists the development clock")
	}
}
