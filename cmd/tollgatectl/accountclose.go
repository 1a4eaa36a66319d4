package main

import (
	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
)

// newAccountCloseCmds are `account close` (billing) and `account reopen` (admin), sent with If-Match.
func newAccountCloseCmds(g *globals) (cmds []*cobra.Command) {
	for _, c := range [][2]string{{"close", "Close an account: cancel its services, issue its final invoice, keep its credit (or --refund-credit)"}, {"reopen", "Reopen a closed account (admin); its services stay cancelled"}} {
		body, key := client.AccountClose{}, ""
		cmd := &cobra.Command{Use: c[0] + " ACCOUNT", Short: c[1], Args: cobra.ExactArgs(1),
			RunE: withID(g, "account", func(cmd *cobra.Command, cl *client.Client, id int64) error {
				r, err := cl.AccountLifecycle(cmd.Context(), orNewKey(key), id, 0, c[0], body)
				return orPrintJSON(cmd, r, err)
			})}
		cmd.Flags().StringVar(&body.Reason, "reason", "", "why (kept in the audit log)")
		cmd.Flags().BoolVar(&body.RefundCredit, "refund-credit", false, "close: refund the credit left after the final invoice instead of keeping it")
		addKeyFlag(cmd, &key)
		cmds = append(cmds, cmd)
	}
	return cmds
}
