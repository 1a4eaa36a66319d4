package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/internal/textout"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		// The whole error: a problem the API answered with what the
		// command says about it (what to do next).
		fmt.Fprintln(os.Stderr, "error:", textout.EscapeControl(err.Error()))
		os.Exit(1)
	}
}

// globals are the flags every command shares.
type globals struct {
	server    string
	token     string
	tokenFile string
	output    string
}

func (g *globals) client() (*client.Client, error) {
	tok := g.token
	if tok == "" {
		tok = os.Getenv("TOLLGATE_TOKEN") // read here, not as a flag default, so --help never prints it
	}
	if tok == "" && g.tokenFile != "" {
		b, err := os.ReadFile(g.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("--token-file: %w", err)
		}
		tok = strings.TrimSpace(string(b))
	}
	if tok == "" {
		return nil, fmt.Errorf("no API token: set --token, --token-file or TOLLGATE_TOKEN")
	}
	return client.New(g.server, tok), nil
}

func (g *globals) json() bool { return g.output == "json" }

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "tollgatectl",
		Short:         "Manage Tollgate through the controller's admin API",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if g.output != "table" && g.output != "json" {
				return fmt.Errorf("--output %q is not one of table, json", g.output)
			}
			// Data (names, memos, errors a bank file carried) may hold
			// terminal control sequences: they are shown escaped.
			if _, ok := cmd.OutOrStdout().(textout.Escaper); !ok {
				cmd.SetOut(textout.Escaper{W: cmd.OutOrStdout()})
			}
			return nil
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.server, "server", cmp.Or(os.Getenv("TOLLGATE_SERVER"), "http://localhost:8080"), "controller HTTP address (env TOLLGATE_SERVER)")
	pf.StringVar(&g.token, "token", "", "API bearer token (env TOLLGATE_TOKEN)")
	pf.StringVar(&g.tokenFile, "token-file", os.Getenv("TOLLGATE_TOKEN_FILE"), "file holding the API token (env TOLLGATE_TOKEN_FILE)")
	pf.StringVarP(&g.output, "output", "o", "table", "output format: table or json")
	root.AddCommand(newServiceCmd(g), newAccountTypeCmd(g), newPlanCmd(g), newTaxRateCmd(g), newAccountCmd(g),
		newChargeCmd(g), newCreditCmd(g), newInvoiceCmd(g), newBillingRunCmd(g), newImportCmd(g), newDevCmd(g),
		newPaymentCmd(g), newBatchCmd(g), newPaymentMethodCmd(g), newAutopayCmd(g), newDepositSlipCmd(g),
		newSweepCmd(g), newSuspensionsCmd(g), newNoticesCmd(g), newPKICmd(g), newAgentCmd(g), newDeliveryCmd(g), newTicketCmd(g),
		newPoolCmd(g), newStaffCmd(g), newTokenCmd(g), newReportCmd(g))
	rejectUnknownSubcommands(root)
	return root
}

// rejectUnknownSubcommands makes every command group below root (account,
// payment, ...) fail on a word that is none of its subcommands ("account
// shwo 5": unknown command, exit status 1) instead of printing its help
// and succeeding; the group alone still prints its help. Cobra checks
// unknown subcommands of the root only.
func rejectUnknownSubcommands(root *cobra.Command) {
	for _, c := range root.Commands() {
		rejectUnknownSubcommands(c)
		if !c.HasSubCommands() || c.Runnable() {
			continue
		}
		c.Args = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
			}
			return fmt.Errorf("%s\nRun '%s --help' for usage", msg, cmd.CommandPath())
		}
		c.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
		if c.SuggestionsMinimumDistance <= 0 {
			c.SuggestionsMinimumDistance = 2
		}
	}
}

// say prints v as JSON with -o json, else the sentence format (with a).
// Errors: the writer's.
func (g *globals) say(w io.Writer, v any, format string, a ...any) error {
	if g.json() {
		return printJSON(w, v)
	}
	_, err := fmt.Fprintf(w, format, a...)
	return err
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// group is a command group: names is its name, then its aliases, space
// separated; subs are its commands.
func group(names, short string, subs ...*cobra.Command) *cobra.Command {
	n := strings.Fields(names)
	cmd := &cobra.Command{Use: n[0], Aliases: n[1:], Short: short}
	cmd.AddCommand(subs...)
	return cmd
}
