package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
)

func newServiceCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "service",
		Aliases: []string{"services", "svc"},
		Short:   "Create, list, show, suspend and restore subscriber services",
	}
	cmd.AddCommand(newServiceCreateCmd(g), newServiceListCmd(g), newServiceShowCmd(g),
		newServiceStateCmd(g, billing.StateSuspended), newServiceStateCmd(g, billing.StateActive))
	cmd.AddCommand(newServiceMoveCmds(g)...)
	return cmd
}

func newServiceCreateCmd(g *globals) *cobra.Command {
	var in billing.NewService
	var state, idemKey, start, end string
	var planID int64
	var account accountFlag
	cmd := &cobra.Command{
		Use:     "create --pop POP --method METHOD [flags]",
		Short:   "Create a service at a POP with its enforcement binding",
		Example: `  tollgatectl service create --pop north-1 --name "Jane Doe home" --method routeros --address 100.64.1.20`,
		Args:    cobra.NoArgs,
		RunE: withClient(g, func(cmd *cobra.Command, c *client.Client, args []string) error {
			in.State = billing.DesiredState(state)
			accountID, err := account.id(cmd.Context(), c)
			if err != nil {
				return err
			}
			if accountID > 0 {
				in.AccountID = &accountID
			}
			if planID > 0 {
				in.PlanID = &planID
			}
			for flag, v := range map[string]struct {
				s string
				d *billing.Date
			}{"--start": {start, &in.StartDate}, "--end": {end, &in.EndDate}} {
				if v.s == "" {
					continue
				}
				d, err := billing.ParseDate(v.s)
				if err != nil {
					return fmt.Errorf("%s: %w", flag, err)
				}
				*v.d = d
			}
			s, err := c.CreateService(cmd.Context(), orNewKey(idemKey), in)
			if err != nil {
				return err
			}
			return printService(cmd.OutOrStdout(), g, s)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&in.POP, "pop", "", "POP id (required)")
	f.StringVar(&in.Name, "name", "", "service name shown to staff")
	f.StringVar(&in.Binding.Method, "method", "log", "enforcement method: log, routeros, radius, snmp")
	f.StringSliceVar(&in.Binding.Addresses, "address", nil, "subscriber IP address or prefix (repeatable)")
	f.StringVar(&in.Binding.RADIUSUsername, "radius-username", "", "RADIUS User-Name (method radius; without it, the sessions are found by --address as Framed-IP-Address)")
	f.StringVar(&in.Binding.Device, "device", "", "device name from the agent's config (method snmp)")
	f.Int32Var(&in.Binding.IfIndex, "if-index", 0, "interface index (method snmp)")
	f.StringVar(&state, "state", "active", "initial desired state: active or suspended")
	addAccountFlag(cmd, &account, "the account the service belongs to")
	f.Int64Var(&planID, "plan", 0, "plan id it is billed on (needs --account and --start)")
	f.StringVar(&start, "start", "", "first billed day, YYYY-MM-DD")
	f.StringVar(&end, "end", "", "day billing stops (exclusive), YYYY-MM-DD")
	addKeyFlag(cmd, &idemKey)
	_ = cmd.MarkFlagRequired("pop")
	return cmd
}

func newServiceListCmd(g *globals) *cobra.Command {
	return listCmd(g, listing[billing.Service]{
		use: "list", short: "List services (all pages), optionally by POP and desired state", path: "/api/v1/services",
		params: []param{
			{"pop", "pop", "only this POP", textParam},
			{"state", "state", "only this desired state: active or suspended", textParam},
		},
		headers: "ID,POP,NAME,METHOD,DESIRED,REVISION,CONFIRMED",
		row: func(s billing.Service) []any {
			return []any{s.ID, s.POP, s.Name, s.Binding.Method, s.DesiredState, s.Revision, confirmation(s)}
		},
	})
}

func newServiceShowCmd(g *globals) *cobra.Command {
	return showCmd(g, "show ID", "Show a service: desired state, why, and when the agent last confirmed it", "", "service", "/api/v1/services", printService)
}

func newServiceStateCmd(g *globals, state billing.DesiredState) *cobra.Command {
	verb, short := "suspend", "Suspend a service: its POP's agent cuts it off (or redirects it to the portal)"
	if state == billing.StateActive {
		verb, short = "restore", "Restore a suspended service"
	}
	var reason, idemKey string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   verb + " ID",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: withID(g, "service", func(cmd *cobra.Command, c *client.Client, id int64) error {
			r, err := c.SetDesiredState(cmd.Context(), orNewKey(idemKey), id, state, reason)
			if err != nil {
				return err
			}
			s := r.Service
			if wait > 0 {
				if s, err = waitConfirmed(cmd, c, s, wait); err != nil {
					return err
				}
			}
			if g.json() {
				return printJSON(cmd.OutOrStdout(), client.DesiredStateResult{Service: s, Changed: r.Changed})
			}
			if !r.Changed {
				fmt.Fprintf(cmd.OutOrStdout(), "service %d was already %s; nothing changed\n", s.ID, s.DesiredState)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "service %d is now %s at revision %d of POP %s\n", s.ID, s.DesiredState, s.Revision, s.POP)
			}
			if wait > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "agent confirmation: %s\n", confirmation(s))
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (recorded with the change and shown to staff)")
	addKeyFlag(cmd, &idemKey)
	cmd.Flags().DurationVar(&wait, "wait", 0, "wait up to this long for the agent to confirm the change (e.g. 10s)")
	return cmd
}

// waitConfirmed polls until the agent has confirmed the service's current
// revision, or reported it pending (applied; takes effect at the
// subscriber's next login), or timeout passes.
func waitConfirmed(cmd *cobra.Command, c *client.Client, s billing.Service, timeout time.Duration) (billing.Service, error) {
	deadline := time.Now().Add(timeout)
	for !s.Confirmed() && s.Confirmation.Pending == "" {
		if time.Now().After(deadline) {
			return s, fmt.Errorf("service %d: the agent at POP %s has not confirmed revision %d within %s (last error: %q)",
				s.ID, s.POP, s.Revision, timeout, s.Confirmation.LastError)
		}
		select {
		case <-cmd.Context().Done():
			return s, cmd.Context().Err()
		case <-time.After(100 * time.Millisecond):
		}
		var err error
		if s, err = c.Service(cmd.Context(), s.ID); err != nil {
			return s, err
		}
	}
	return s, nil
}

func orNewKey(k string) string {
	if k == "" {
		return client.NewIdempotencyKey()
	}
	return k
}

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

func printService(w io.Writer, g *globals, s billing.Service) error {
	if g.json() {
		return printJSON(w, s)
	}
	b, addr := s.Binding, s.ServiceAddress
	var plan any = skip{}
	if s.PlanID != nil {
		plan = fmt.Sprintf("%d, billed from %s", *s.PlanID, s.StartDate)
		if !s.EndDate.IsZero() {
			plan = fmt.Sprintf("%s until %s", plan, s.EndDate)
		}
	}
	return printFields(w, "ID", s.ID, "POP", s.POP, "Name", s.Name,
		"Service address", only(addr != billing.Address{}, joinNonEmpty(", ", addr.Line1, addr.Line2, addr.City, addr.Region, addr.PostalCode, addr.Country)),
		"Method", b.Method, "Addresses", only(len(b.Addresses) > 0, strings.Join(b.Addresses, ", ")), "RADIUS user", only(b.RADIUSUsername != "", b.RADIUSUsername),
		"Device", only(b.Device != "", fmt.Sprintf("%s ifIndex %d", b.Device, b.IfIndex)), "Desired state", s.DesiredState, "Why", s.StateReason,
		"Revision", fmt.Sprintf("%d (version %d)", s.Revision, s.Version), "Updated", localTime(s.UpdatedAt), "Confirmed", confirmation(s),
		"Account", orSkip(s.AccountID), "Plan", plan, "Observed on device", only(s.Confirmation.ObservedState != "", s.Confirmation.ObservedState))
}
