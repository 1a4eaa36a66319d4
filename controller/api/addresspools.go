package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// IP address management: a POP's address pools. Services take addresses
// from them with "allocate" on create or move (see billing.NewService).

func (s *Server) registerAddressPools(pools billing.AddressPoolStore) {
	huma.Register(s.api, described(op("create-address-pool", http.MethodPost, "/api/v1/address-pools",
		"Create an address pool at a POP", RoleAdmin, "address pools"),
		"An IPv4 or IPv6 prefix from which services at the POP get their addresses (delegation_length 32, the "+
			"default for IPv4) or delegated prefixes (IPv6, default /56) when created or moved with "+
			`"allocate": "auto" or the pool's name. The gateway and the excluded addresses, prefixes and ranges `+
			"FIRST-LAST are never handed out, nor an IPv4 pool's network and broadcast addresses. A released "+
			"address (its service cancelled and removed from the POP, or moved off it) stays out of allocation "+
			"for quarantine_hours (default 24). Addresses services already hold in the range are adopted as "+
			"static assignments. 409 for a name taken or a prefix overlapping another pool; 422 naming a bad field."),
		func(ctx context.Context, in *body[billing.AddressPool]) (*body[billing.AddressPool], error) {
			p, err := pools.CreateAddressPool(ctx, in.Body, s.clock.Now())
			return wrap(s, "create-address-pool", p, err)
		})
	huma.Register(s.api, described(op("list-address-pools", http.MethodGet, "/api/v1/address-pools",
		"List address pools with their usage", RoleReader, "address pools"),
		"Every pool (of one POP with pop=), in id order, each with its usage: capacity, bound and quarantined "+
			"blocks, used_percent. One page (next_after is always 0)."),
		func(ctx context.Context, in *struct {
			POP   string `query:"pop" doc:"Only this POP's pools."`
			Limit int    `query:"limit" minimum:"1" maximum:"1000" default:"1000" doc:"Ignored: pools come in one page."`
		}) (*body[page[billing.AddressPool]], error) {
			ps, err := pools.AddressPools(ctx, in.POP, s.clock.Now())
			return wrap(s, "list-address-pools", newPage(ps, 0, func(p billing.AddressPool) int64 { return p.ID }), err)
		})
	huma.Register(s.api, described(op("get-address-pool", http.MethodGet, "/api/v1/address-pools/{id}",
		"Show an address pool with its usage", RoleReader, "address pools"), "404 for an unknown id."),
		func(ctx context.Context, in *IDPath) (*body[billing.AddressPool], error) {
			p, err := pools.AddressPool(ctx, in.ID, s.clock.Now())
			return wrap(s, "get-address-pool", p, err)
		})
	o := described(op("update-address-pool", http.MethodPatch, "/api/v1/address-pools/{id}",
		"Edit an address pool: name, gateway, exclusions, quarantine", RoleAdmin, "address pools"),
		"Changes the fields the body names and leaves the others. excluded replaces the whole list. The prefix and "+
			"delegation_length cannot change (create another pool for more addresses). A new gateway or exclusion that "+
			"covers an address a service holds is refused with 409 naming the service (give it another address first); "+
			"a new quarantine_hours applies to addresses released from now on. Kept in the audit log. 404 for an unknown "+
			"id, 409 for a name taken, 422 naming a bad field; nothing is written on error. Answers the pool with its usage.")
	o.Errors = append(o.Errors, http.StatusNotFound, http.StatusConflict)
	huma.Register(s.api, o, func(ctx context.Context, in *struct {
		IDPath
		Body billing.AddressPoolEdit
	}) (*body[billing.AddressPool], error) {
		p, err := pools.UpdateAddressPool(ctx, in.ID, in.Body, actor(ctx), s.clock.Now())
		return wrap(s, "update-address-pool", p, err)
	})
	huma.Register(s.api, described(op("delete-address-pool", http.MethodDelete, "/api/v1/address-pools/{id}",
		"Delete an address pool", RoleAdmin, "address pools"),
		"Deletes a pool no service holds an allocated address from (409 naming the first service that does: "+
			"move or cancel it first); its released addresses' history stays. Answers the deleted pool."),
		func(ctx context.Context, in *IDPath) (*body[billing.AddressPool], error) {
			p, err := pools.DeleteAddressPool(ctx, in.ID)
			return wrap(s, "delete-address-pool", p, err)
		})
}
