package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
)

// newServiceMoveCmds are `service move` and `service edit-binding`. Both
// start from the service's binding as read and change the fields whose
// flags are given, and send If-Match with --version, or with the version
// read.
func newServiceMoveCmds(g *globals) []*cobra.Command {
	var nb billing.Binding
	var version int64
	var pop, idemKey, reason string
	var wait time.Duration
	run := func(edit bool) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			id, err := parseIDOf("service", args[0])
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			ctx, f := cmd.Context(), cmd.Flags()
			s, err := c.Service(ctx, id)
			if err != nil {
				return err
			}
			if version == 0 {
				version = s.Version
			}
			// The binding as read, with the fields the flags give.
			b := s.Binding
			for flag, set := range map[string]func(){"method": func() { b.Method = nb.Method }, "address": func() { b.Addresses = nb.Addresses },
				"radius-username": func() { b.RADIUSUsername = nb.RADIUSUsername }, "device": func() { b.Device = nb.Device },
				"if-index": func() { b.IfIndex = nb.IfIndex }} {
				if f.Changed(flag) {
					set()
				}
			}
			var r client.ServiceChange
			if edit {
				be := billing.BindingEdit{Addresses: &b.Addresses, RADIUSUsername: &b.RADIUSUsername, Device: &b.Device, IfIndex: &b.IfIndex}
				r, err = c.EditService(ctx, orNewKey(idemKey), id, version, billing.ServiceEdit{Binding: &be, Reason: reason})
			} else {
				r, err = c.MoveService(ctx, orNewKey(idemKey), id, version, billing.ServiceMove{POP: pop, Binding: b, Reason: reason})
			}
			if err != nil {
				return err
			}
			if wait > 0 && r.Changed {
				if r.Service, err = waitConfirmed(cmd, c, r.Service, wait); err != nil {
					return err
				}
			}
			if g.json() {
				return printJSON(cmd.OutOrStdout(), r)
			}
			switch w := cmd.OutOrStdout(); {
			case !r.Changed:
				fmt.Fprintf(w, "service %d: nothing changed\n", id)
			case r.RemovedFrom != "":
				fmt.Fprintf(w, "service %d moved from POP %s (its agent removes it) to POP %s, revision %d, version %d\n", id, r.RemovedFrom, r.Service.POP, r.Service.Revision, r.Service.Version)
			default:
				fmt.Fprintf(w, "service %d now has its new binding at POP %s, revision %d, version %d\n", id, r.Service.POP, r.Service.Revision, r.Service.Version)
			}
			return printService(cmd.OutOrStdout(), g, r.Service)
		}
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
	move.Flags().StringVar(&nb.Method, "method", "", "enforcement method at the new place: log, routeros, radius, snmp (default: the current one)")
	_ = move.MarkFlagRequired("pop")
	history := &cobra.Command{Use: "history ID", Args: cobra.ExactArgs(1), Short: "Show a service's moves, edits and lifecycle changes: who, when, before and after, why",
		RunE: withID(g, "service", func(cmd *cobra.Command, c *client.Client, id int64) error {
			h, err := c.ServiceHistory(cmd.Context(), id)
			if err != nil || g.json() {
				return cmpErr(err, printJSON(cmd.OutOrStdout(), h))
			}
			t := newTable(cmd.OutOrStdout(), "AT", "ACTOR", "CHANGED", "BEFORE", "AFTER", "WHY")
			for _, e := range h {
				before, _ := json.Marshal(e.Before)
				after, _ := json.Marshal(e.After)
				t.row(e.At.Local().Format(time.RFC3339), e.Actor, strings.Join(e.Fields(), ", "), string(before), string(after), orDash(e.Reason))
			}
			return t.flush()
		})}
	return []*cobra.Command{move, edit, history}
}
