package bench

import (
	"os"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

func TestMain(m *testing.M) {
	// BenchmarkPaymentsAPI re-executes this binary as its client load
	// generator: that process needs no database of its own.
	if os.Getenv(envPaymentsLoadGenerator) != "" {
		os.Exit(runPaymentsLoadGenerator(os.Getenv(envPaymentsLoadGenerator), os.Stdout))
	}
	os.Exit(pgtest.Main(m, pgtest.WithMigrate(postgres.Migrate)))
}
