package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// Address pools' usage on /metrics, read at scrape time (every replica
// reports the same figures; the alert rules take the max by pool).
var (
	poolUsedDesc = prometheus.NewDesc("tollgate_address_pool_used_ratio",
		"Share (0-1) of an address pool's blocks that are bound to services or wait out their quarantine.",
		[]string{"pop", "pool"}, nil)
	poolCapacityDesc = prometheus.NewDesc("tollgate_address_pool_capacity",
		"Blocks (addresses, or delegated IPv6 prefixes) an address pool can hand out: excluded ones, the gateway and an IPv4 pool's network and broadcast addresses not counted.",
		[]string{"pop", "pool"}, nil)
)

// poolUsageCollector reads every pool's usage from the database.
type poolUsageCollector struct {
	db    *postgres.DB
	clock clock.Clock
}

func (c *poolUsageCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- poolUsedDesc
	ch <- poolCapacityDesc
}

func (c *poolUsageCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	pools, err := c.db.AddressPoolUsage(ctx, c.clock.Now())
	if err != nil {
		ch <- prometheus.NewInvalidMetric(poolUsedDesc, err)
		return
	}
	for _, p := range pools {
		ch <- prometheus.MustNewConstMetric(poolUsedDesc, prometheus.GaugeValue, p.Usage.UsedPercent/100, p.POP, p.Name)
		ch <- prometheus.MustNewConstMetric(poolCapacityDesc, prometheus.GaugeValue, p.Usage.Capacity, p.POP, p.Name)
	}
}
