package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/textout"
)

func newServiceCmd(g *globals) *cobra.Command {
	return group("service services svc", "Create, list, show, suspend and restore subscriber services",
		append(append(newServiceMoveCmds(g), newServiceLifecycleCmds(g)...),
			changeCmd(g, change[billing.Service]{
				use:     "create --pop POP --method METHOD [flags]",
				short:   "Create a service at a POP with its enforcement binding",
				example: `  tollgatectl service create --pop north-1 --name "Jane Doe home" --method routeros --address 100.64.1.20`,
				method:  http.MethodPost, path: "/api/v1/services",
				params: []param{{"pop", "pop", "POP id (required)", textParam}, {"name", "name", "service name shown to staff", textParam},
					{"method", "binding.method", "enforcement method: log, routeros, radius, snmp", wordParam},
					{"address", "binding.addresses", "subscriber IP address or prefix (repeatable)", listParam},
					{"allocate", "allocate", "add addresses from the POP's pools: auto (one per address family), a pool's name, or learned (none: the agent learns it)", textParam},
					{"radius-username", "binding.radius_username", "RADIUS User-Name (method radius; without it, sessions match --address)", textParam},
					{"device", "binding.device", "device name from the agent's config (method snmp)", textParam},
					{"if-index", "binding.if_index", "interface index (method snmp)", idParam},
					{"state", "state", "initial desired state: active or suspended", wordParam},
					{"account", "account_id", "the account the service belongs to", accountParam},
					{"plan", "plan_id", "plan id it is billed on (needs --account and --start)", idParam},
					{"start", "start_date", "first billed day, YYYY-MM-DD", dateParam}, {"end", "end_date", "day billing stops (exclusive), YYYY-MM-DD", dateParam}},
				defaults: []string{"method", "log", "state", "active"}, show: printService}),
			listCmd(g, listing[billing.Service]{
				use: "list", short: "List services (all pages), optionally by POP and desired state", path: "/api/v1/services",
				params: []param{
					{"pop", "pop", "only this POP", textParam},
					{"state", "state", "only this desired state: active or suspended", textParam},
				},
				headers: "ID,POP,NAME,METHOD,DESIRED,REVISION,CONFIRMED",
				row: func(s billing.Service) []any {
					return []any{s.ID, s.POP, s.Name, s.Binding.Method, s.DesiredState, s.Revision, confirmation(s)}
				},
			}),
			showCmd(g, "show ID", "Show a service: desired state, why, and when the agent last confirmed it", "", "service", "/api/v1/services", printService),
			newServiceStateCmd(g, billing.StateSuspended), newServiceStateCmd(g, billing.StateActive))...)
}

func newServiceStateCmd(g *globals, state billing.DesiredState) *cobra.Command {
	verb, short := "suspend", "Suspend a service: its POP's agent cuts it off (or redirects it to the portal)"
	if state == billing.StateActive {
		verb, short = "restore", "Restore a suspended service"
	}
	var wait time.Duration
	cmd := changeCmd(g, change[client.DesiredStateResult]{use: verb + " ID", short: short, args: []string{"service"},
		params: []param{{"reason", "reason", "why (recorded with the change and shown to staff)", textParam}},
		send: func(ctx context.Context, c *client.Client, ids []int64, key string, body map[string]any) (r client.DesiredStateResult, err error) {
			body["state"] = state
			err = c.Do(ctx, http.MethodPost, idPath("/api/v1/services", ids[0], "/desired-state"), nil, key, body, &r)
			if err == nil && wait > 0 {
				r.Service, err = waitConfirmed(ctx, c, r.Service, wait)
			}
			return r, err
		},
		print: func(cmd *cobra.Command, _ *client.Client, _ []int64, r client.DesiredStateResult) error {
			s := r.Service
			if !r.Changed {
				fmt.Fprintf(cmd.OutOrStdout(), "service %d was already %s; nothing changed\n", s.ID, s.DesiredState)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "service %d is now %s at revision %d of POP %s\n", s.ID, s.DesiredState, s.Revision, s.POP)
			}
			if wait > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "agent confirmation: %s\n", confirmation(s))
			}
			return nil
		}})
	cmd.Flags().DurationVar(&wait, "wait", 0, "wait up to this long for the agent to confirm the change (e.g. 10s)")
	return cmd
}

// waitConfirmed polls until the agent has confirmed the service's current
// revision, or reported it pending (applied; takes effect at the
// subscriber's next login), or timeout passes.
func waitConfirmed(ctx context.Context, c *client.Client, s billing.Service, timeout time.Duration) (billing.Service, error) {
	deadline := time.Now().Add(timeout)
	for !s.Confirmed() && s.Confirmation.Pending == "" {
		if time.Now().After(deadline) {
			return s, fmt.Errorf("service %d: the agent at POP %s has not confirmed revision %d within %s (last error: %q)",
				s.ID, s.POP, s.Revision, timeout, s.Confirmation.LastError)
		}
		select {
		case <-ctx.Done():
			return s, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		var err error
		if s, err = c.Service(ctx, s.ID); err != nil {
			return s, err
		}
	}
	return s, nil
}

// orNewKey is the --idempotency-key given, else a new random key.
func orNewKey(k string) string { return cmp.Or(k, client.NewIdempotencyKey()) }

func confirmation(s billing.Service) string {
	c := s.Confirmation
	switch {
	case s.Confirmed() && c.LastConfirmedAt != nil:
		return "yes, " + c.LastConfirmedAt.Local().Format(time.RFC3339)
	case c.Pending != "":
		// Applied by the agent, not failing, not confirmed yet.
		return "pending: " + c.Pending
	case c.LastError != "":
		return "failing: " + c.LastError
	default:
		return "not yet (waiting for the agent)"
	}
}

func printService(w io.Writer, s billing.Service) error {
	b, addr := s.Binding, s.ServiceAddress
	var plan any = textout.Skip{}
	if s.PlanID != nil {
		plan = fmt.Sprintf("%d, billed from %s", *s.PlanID, s.StartDate)
		if !s.EndDate.IsZero() {
			plan = fmt.Sprintf("%s until %s", plan, s.EndDate)
		}
	}
	return textout.Fields(w, "ID", s.ID, "POP", s.POP, "Name", s.Name,
		"Service address", textout.Only(addr != billing.Address{}, joinNonEmpty(", ", addr.Line1, addr.Line2, addr.City, addr.Region, addr.PostalCode, addr.Country)),
		"Method", b.Method, "Addresses", textout.Only(len(b.Addresses) > 0, strings.Join(b.Addresses, ", ")), "RADIUS user", textout.Only(b.RADIUSUsername != "", b.RADIUSUsername),
		"Device", textout.Only(b.Device != "", fmt.Sprintf("%s ifIndex %d", b.Device, b.IfIndex)), "Desired state", s.DesiredState, "Why", s.StateReason,
		"Revision", fmt.Sprintf("%d (version %d)", s.Revision, s.Version), "Updated", localTime(s.UpdatedAt), "Confirmed", confirmation(s),
		"Account", textout.OrSkip(s.AccountID), "Plan", plan, "Observed on device", textout.Only(s.Confirmation.ObservedState != "", s.Confirmation.ObservedState))
}

// newServiceMoveCmds are `service move` and `service edit-binding`. Both
// start from the service's binding as read and change the fields whose
// flags are given, and send If-Match with --version, or with the version
// read.
func newServiceMoveCmds(g *globals) []*cobra.Command {
	var nb billing.Binding
	var version int64
	var pop, idemKey, reason, allocate string
	var wait time.Duration
	run := func(edit bool) func(*cobra.Command, []string) error {
		return withID(g, "service", func(cmd *cobra.Command, c *client.Client, id int64) error {
			ctx, f := cmd.Context(), cmd.Flags()
			s, err := c.Service(ctx, id)
			if err != nil {
				return err
			}
			version = cmp.Or(version, s.Version)
			// The binding as read, with the fields the flags give.
			b := s.Binding
			for flag, set := range map[string]func(){"method": func() { b.Method = nb.Method }, "address": func() { b.Addresses = nb.Addresses },
				"radius-username": func() { b.RADIUSUsername = nb.RADIUSUsername }, "device": func() { b.Device = nb.Device },
				"if-index": func() { b.IfIndex = nb.IfIndex }} {
				if f.Changed(flag) || flag == "address" && allocate != "" {
					set()
				}
			}
			var r client.ServiceChange
			if edit {
				be := billing.BindingEdit{Addresses: &b.Addresses, RADIUSUsername: &b.RADIUSUsername, Device: &b.Device, IfIndex: &b.IfIndex}
				r, err = c.EditService(ctx, orNewKey(idemKey), id, version, billing.ServiceEdit{Binding: &be, Reason: reason})
			} else {
				r, err = c.MoveService(ctx, orNewKey(idemKey), id, version, billing.ServiceMove{POP: pop, Binding: b, Reason: reason, Allocate: allocate})
			}
			if err == nil && wait > 0 && r.Changed {
				r.Service, err = waitConfirmed(ctx, c, r.Service, wait)
			}
			if err != nil || g.json() {
				return orPrintJSON(cmd, r, err)
			}
			switch w := cmd.OutOrStdout(); {
			case !r.Changed:
				fmt.Fprintf(w, "service %d: nothing changed\n", id)
			case r.RemovedFrom != "":
				fmt.Fprintf(w, "service %d moved from POP %s (its agent removes it) to POP %s, revision %d, version %d\n", id, r.RemovedFrom, r.Service.POP, r.Service.Revision, r.Service.Version)
			default:
				fmt.Fprintf(w, "service %d now has its new binding at POP %s, revision %d, version %d\n", id, r.Service.POP, r.Service.Revision, r.Service.Version)
			}
			return printService(cmd.OutOrStdout(), r.Service)
		})
	}
	move := &cobra.Command{Use: "move ID --pop POP --method METHOD [binding flags]", Args: cobra.ExactArgs(1), RunE: run(false),
		Short:   "Move a service to another POP or binding: the old POP's agent removes it, the new one applies its state",
		Example: "  tollgatectl service move 42 --pop south-2 --method routeros --address 100.64.9.20 --wait 10s"}
	edit := &cobra.Command{Use: "edit-binding ID [--address A]... [--if-index N] [--device D] [--radius-username U]", Args: cobra.ExactArgs(1), RunE: run(true),
		Short:   "Correct a service's binding in place (a typo in an address or ifIndex); only the flags given change",
		Example: "  tollgatectl service edit-binding 42 --if-index 12 --reason \"port typo\""}
	for _, cmd := range []*cobra.Command{move, edit} {
		f := cmd.Flags()
		f.StringSliceVar(&nb.Addresses, "address", nil, "subscriber IP address or prefix (repeatable)")
		f.StringVar(&nb.RADIUSUsername, "radius-username", "", "RADIUS User-Name")
		f.StringVar(&nb.Device, "device", "", "device name from the agent's config")
		f.Int32Var(&nb.IfIndex, "if-index", 0, "interface index (method snmp)")
		f.Int64Var(&version, "version", 0, "the service's version as read (If-Match; default: the version read now)")
		f.StringVar(&reason, "reason", "", "why (kept in the audit log)")
		f.DurationVar(&wait, "wait", 0, "wait up to this long for the agent to confirm (e.g. 10s)")
		addKeyFlag(cmd, &idemKey)
	}
	move.Flags().StringVar(&pop, "pop", "", "the POP the service moves to (required)")
	move.Flags().StringVar(&allocate, "allocate", "", "addresses from the new POP's pools instead of the current ones (with the --address given): auto, a pool's name or learned")
	move.Flags().StringVar(&nb.Method, "method", "", "enforcement method at the new place: log, routeros, radius, snmp (default: the current one)")
	_ = move.MarkFlagRequired("pop")
	history := listCmd(g, listing[billing.AuditEntry]{use: "history ID", args: []string{"service"}, path: "/api/v1/services/%d/history",
		short:   "Show a service's moves, edits and lifecycle changes: who, when, before and after, why",
		headers: "AT,ACTOR,CHANGED,BEFORE,AFTER,WHY",
		row: func(e billing.AuditEntry) []any {
			before, _ := json.Marshal(e.Before)
			after, _ := json.Marshal(e.After)
			return []any{localTime(e.At), e.Actor, strings.Join(e.Fields(), ", "), string(before), string(after), orDash(e.Reason)}
		}})
	return []*cobra.Command{move, edit, history}
}
