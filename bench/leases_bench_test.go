package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/agent/leases"
)

// BenchmarkLeases10k: an agent learns a lease file of 10,000 active
// leases — read from disk, parsed, matched to 10,000 services by the relay
// agent's remote id — as ISC dhcpd.leases and as Kea memfile CSV (DHCPv4).
// Reports leases_isc_10k_s and leases_kea_10k_s, the mean time of one
// learning of each file (target: under a second).
func BenchmarkLeases10k(b *testing.B) {
	dir := b.TempDir()
	isc, kea := filepath.Join(dir, "dhcpd.leases"), filepath.Join(dir, "kea-leases4.csv")
	services := map[string]string{}
	var ib, kb strings.Builder
	kb.WriteString("address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context,pool_id\n")
	for i := range 10000 {
		id := fmt.Sprint(i + 1)
		services[id] = ""
		addr := fmt.Sprintf("100.%d.%d.%d", 64+i/65536, i/256%256, i%256)
		mac := fmt.Sprintf("02:00:00:%02x:%02x:%02x", i/65536, i/256%256, i%256)
		fmt.Fprintf(&ib, "lease %s {\n  starts 4 2026/12/03 10:00:00;\n  ends 5 2030/12/04 10:00:00;\n  cltt 4 2026/12/03 10:00:00;\n"+
			"  binding state active;\n  next binding state free;\n  hardware ethernet %s;\n  uid \"\\001\\002\\000\\000\\000\\000\\001\";\n"+
			"  option agent.circuit-id \"olt1 0/1/%d\";\n  option agent.remote-id \"service-%s\";\n  client-hostname \"cpe-%d\";\n}\n",
			addr, mac, i%64, id, i)
		fmt.Fprintf(&kb, "%s,%s,01:%s,86400,1922000000,1,0,0,service-%s,0,,0\n", addr, mac, mac, id)
	}
	for path, data := range map[string]string{isc: ib.String(), kea: kb.String()} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	learn := func(path string, f leases.Format, field leases.MatchField) time.Duration {
		start := time.Now()
		ls, err := leases.ParseFile(path, f)
		if err != nil {
			b.Fatal(err)
		}
		if got := leases.Learn(ls, leases.NewMatcher(field, services), now); len(got) != 10000 {
			b.Fatalf("%s: learned %d of 10000 leases", path, len(got))
		}
		return time.Since(start)
	}
	var iscTime, keaTime time.Duration
	b.ResetTimer()
	for range b.N {
		iscTime += learn(isc, leases.FormatISC, leases.MatchRemoteID)
		keaTime += learn(kea, leases.FormatKea, leases.MatchHostname)
	}
	b.ReportMetric(iscTime.Seconds()/float64(b.N), "leases_isc_10k_s")
	b.ReportMetric(keaTime.Seconds()/float64(b.N), "leases_kea_10k_s")
}
