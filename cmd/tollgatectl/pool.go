package main

import (
	"cmp"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/textout"
)

// newPoolCmd is `pool`: a POP's address pools (admin), from which services
// take addresses with --allocate.
func newPoolCmd(g *globals) *cobra.Command {
	edits := []param{{"gateway", "gateway", "the router's address in the pool; never allocated", givenParam},
		{"exclude", "excluded", "never allocated: an address, prefix or range FIRST-LAST (repeatable)", listParam},
		{"quarantine-hours", "quarantine_hours", "hours a released address stays out of allocation (default 24; 0: reused at once)", countParam}}
	create := changeCmd(g, change[billing.AddressPool]{use: "create --pop POP --name NAME --prefix PREFIX [flags]",
		short:   "Create an address pool at a POP",
		example: "  tollgatectl pool create --pop north-1 --name north-v4 --prefix 100.64.1.0/24 --gateway 100.64.1.1 --exclude 100.64.1.2-100.64.1.9",
		method:  http.MethodPost, path: "/api/v1/address-pools",
		params: append([]param{{"pop", "pop", "POP id (required)", textParam}, {"name", "name", "unique pool name (required)", textParam},
			{"prefix", "prefix", "the pool's range: 100.64.1.0/24, 2001:db8:100::/40 (required)", textParam},
			{"delegation-length", "delegation_length", "prefix length each service gets (default 32 for IPv4, 56 for IPv6)", idParam}}, edits...),
		show: printPool})
	update := changeCmd(g, change[billing.AddressPool]{use: "update ID [--name NAME] [--gateway G] [--exclude E]... [--quarantine-hours H]",
		short: "Change an address pool's name, gateway, exclusions or quarantine; only the flags given change", args: []string{"pool"},
		method: http.MethodPatch, path: "/api/v1/address-pools/%d", params: append([]param{{"name", "name", "new pool name", textParam}}, edits...), show: printPool})
	list := listCmd(g, listing[billing.AddressPool]{use: "list", short: "List address pools with their usage, optionally of one POP",
		path: "/api/v1/address-pools", params: []param{{"pop", "pop", "only this POP's pools", textParam}},
		headers: "ID,POP,NAME,PREFIX,USED,BOUND,QUARANTINED,CAPACITY", row: func(p billing.AddressPool) []any {
			u := cmp.Or(p.Usage, &billing.PoolUsage{})
			return []any{p.ID, p.POP, p.Name, p.Prefix, fmt.Sprintf("%.1f%%", u.UsedPercent), u.Bound, u.Quarantined, u.Capacity}
		}})
	show := showCmd(g, "show ID", "Show an address pool with its usage", "", "pool", "/api/v1/address-pools", printPool)
	remove := changeCmd(g, change[billing.AddressPool]{use: "delete ID", short: "Delete an address pool no service holds an address from",
		args: []string{"pool"}, method: http.MethodDelete, path: "/api/v1/address-pools/%d",
		print: func(cmd *cobra.Command, _ *client.Client, _ []int64, p billing.AddressPool) error {
			return sayf(cmd, "address pool %d (%s, %s) deleted\n", p.ID, p.Name, p.Prefix)
		}})
	return group("pool pools", "A POP's address pools, from which services take addresses (--allocate)", create, list, show, update, remove)
}

func printPool(w io.Writer, p billing.AddressPool) error {
	u := cmp.Or(p.Usage, &billing.PoolUsage{})
	return textout.Fields(w, "ID", p.ID, "POP", p.POP, "Name", p.Name, "Prefix", p.Prefix, "Delegation length", p.DelegationLength,
		"Gateway", orDash(p.Gateway), "Excluded", textout.Only(len(p.Excluded) > 0, strings.Join(p.Excluded, ", ")),
		"Quarantine hours", textout.OrSkip(p.QuarantineHours), "Created", localTime(p.CreatedAt),
		"Used", textout.Only(p.Usage != nil, fmt.Sprintf("%.1f%% (%d bound, %d in quarantine, of %g)", u.UsedPercent, u.Bound, u.Quarantined, u.Capacity)))
}
