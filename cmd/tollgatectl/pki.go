package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/internal/pki"
)

// controllerHosts is hosts, or when none were given (--controller-host)
// this machine's host name and the loopback names.
func controllerHosts(hosts []string) []string {
	if len(hosts) > 0 {
		return hosts
	}
	if h, err := os.Hostname(); err == nil && h != "" && h != "localhost" {
		hosts = append(hosts, h)
	}
	return append(hosts, "localhost", "127.0.0.1", "::1")
}

// printOr prints v as JSON (-o json), else runs text.
func printOr(cmd *cobra.Command, g *globals, v any, text func(out io.Writer)) error {
	if g.json() {
		return printJSON(cmd.OutOrStdout(), v)
	}
	text(cmd.OutOrStdout())
	return nil
}

func newPKICmd(g *globals) *cobra.Command {
	var dir string
	var hosts []string
	var force bool
	initCmd := &cobra.Command{
		Use:     "init --dir DIR",
		Short:   "Create the agents' CA and the controller's certificate in DIR",
		Example: `  tollgatectl pki init --dir /etc/tollgate/pki --controller-host controller.isp.example --controller-host 10.20.0.5`,
		Args:    cobra.NoArgs,
	}
	caValidity := initCmd.Flags().String("ca-validity", "10y", "CA lifetime")
	ctrlValidity := initCmd.Flags().String("controller-validity", "1y", "controller certificate lifetime")
	initCmd.RunE = func(cmd *cobra.Command, args []string) error {
		caV, err := pki.ParseValidity(*caValidity)
		if err != nil {
			return fmt.Errorf("--ca-validity: %w", err)
		}
		ctrlV, err := pki.ParseValidity(*ctrlValidity)
		if err != nil {
			return fmt.Errorf("--controller-validity: %w", err)
		}
		f, err := pki.InitDir(dir, controllerHosts(hosts), caV, ctrlV, force)
		if err != nil {
			return err
		}
		return printOr(cmd, g, f, func(out io.Writer) {
			fmt.Fprintf(out, "Created the %s in %s (valid until %s):\n", pki.CACommonName, f.Dir, f.CANotAfter.Format(time.DateOnly))
			fmt.Fprintf(out, "  %-19s CA certificate\n  %-19s CA private key (0600): keep it safe; \"agent enroll\" needs it\n", pki.CACertFile, pki.CAKeyFile)
			printControllerCert(out, f)
			fmt.Fprintf(out, "\nNext, for each POP: tollgatectl agent enroll POP --pki-dir %s --out DIR\n", f.Dir)
		})
	}
	initCmd.Flags().BoolVar(&force, "force", false, "replace an existing CA and controller certificate (locks out agents enrolled with the old CA)")

	renew := &cobra.Command{
		Use:     "controller-cert --dir DIR",
		Short:   "Issue (renew) the controller's certificate from the CA in DIR, replacing controller.pem",
		Example: `  tollgatectl pki controller-cert --dir /etc/tollgate/pki --controller-host controller.isp.example`,
		Args:    cobra.NoArgs,
	}
	validity := renew.Flags().String("validity", "1y", "certificate lifetime")
	renew.RunE = func(cmd *cobra.Command, args []string) error {
		v, err := pki.ParseValidity(*validity)
		if err != nil {
			return fmt.Errorf("--validity: %w", err)
		}
		f, err := pki.RenewController(dir, controllerHosts(hosts), v)
		if err != nil {
			return err
		}
		return printOr(cmd, g, f, func(out io.Writer) { printControllerCert(out, f) })
	}
	for _, c := range []*cobra.Command{initCmd, renew} {
		c.Flags().StringVar(&dir, "dir", "", `directory for the CA and the controller's certificate (made by "pki init", with mode 0700)`)
		c.Flags().StringArrayVar(&hosts, "controller-host", nil, "DNS name or IP address agents use to reach the controller (repeatable)")
		_ = c.MarkFlagRequired("dir")
	}
	return group("pki", "Certificates for the controller↔agent link (local; no API call)", initCmd, renew)
}

func printControllerCert(out io.Writer, f pki.DirFiles) {
	fmt.Fprintf(out, "  %-19s controller certificate for %s (valid until %s)\n  %-19s its private key (0600)\n",
		pki.ControllerCertFile, strings.Join(f.ControllerSANs, ", "), f.NotAfter.Format(time.DateOnly), pki.ControllerKeyFile)
	fmt.Fprintf(out, "\nController config (deploy/controller.example.yaml):\n\ngrpc:\n  tls:\n    cert_file: %s\n    key_file: %s\n    client_ca_file: %s\n",
		f.ControllerCert, f.ControllerKey, f.CACert)
}

func newAgentCmd(g *globals) *cobra.Command {
	var pkiDir, outDir, configDir string
	var force bool
	enroll := &cobra.Command{
		Use:     "enroll POP --pki-dir DIR --out DIR",
		Short:   "Issue the certificate of an agent for POP and print its config",
		Example: `  tollgatectl agent enroll north-tower-1 --pki-dir /etc/tollgate/pki --out ./north-tower-1 --config-dir /etc/tollgate/tls`,
		Args:    cobra.ExactArgs(1),
	}
	validity := enroll.Flags().String("validity", "1y", `certificate lifetime: years ("1y"), days ("90d") or hours`)
	enroll.RunE = func(cmd *cobra.Command, args []string) error {
		pop := args[0]
		v, err := pki.ParseValidity(*validity)
		if err != nil {
			return fmt.Errorf("--validity: %w", err)
		}
		e, err := pki.Enroll(pkiDir, outDir, configDir, pop, v, force)
		if err != nil {
			return err
		}
		return printOr(cmd, g, e, func(out io.Writer) {
			fmt.Fprintf(out, "Enrolled an agent for POP %s in %s (certificate valid until %s).\n", pop, outDir, e.NotAfter.Format(time.DateOnly))
			fmt.Fprintf(out, "\nAgent config (deploy/agent.example.yaml):\n\npop: %s\ncontroller:\n  tls:\n    cert_file: %s\n    key_file: %s\n    ca_file: %s\n",
				pop, e.CertFile, e.KeyFile, e.CAFile)
		})
	}
	f := enroll.Flags()
	f.StringVar(&pkiDir, "pki-dir", "", `directory made by "pki init" (needs ca.pem and ca-key.pem)`)
	f.StringVar(&outDir, "out", "", "directory to write agent.pem, agent-key.pem and ca.pem to (created with mode 0700)")
	f.StringVar(&configDir, "config-dir", "", "where the files will be on the agent's host, for the printed config (default: --out)")
	f.BoolVar(&force, "force", false, "replace existing files in --out")
	_ = enroll.MarkFlagRequired("pki-dir")
	_ = enroll.MarkFlagRequired("out")
	return group("agent", "Agents: enrollment (local; no API call)", enroll)
}
