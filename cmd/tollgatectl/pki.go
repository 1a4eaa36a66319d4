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

// defaultControllerHosts are the names the controller's certificate gets
// when --controller-host is not given: this machine's host name and the
// loopback names.
func defaultControllerHosts() []string {
	var hosts []string
	if h, err := os.Hostname(); err == nil && h != "" && h != "localhost" {
		hosts = append(hosts, h)
	}
	return append(hosts, "localhost", "127.0.0.1", "::1")
}

func newPKICmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pki",
		Short: "Certificates for the controller↔agent link (local; no API call)",
	}

	var dir string
	var hosts []string
	var force bool
	var caValidity, ctrlValidity string
	initCmd := &cobra.Command{
		Use:     "init --dir DIR",
		Short:   "Create the agents' CA and the controller's certificate in DIR",
		Example: `  tollgatectl pki init --dir /etc/tollgate/pki --controller-host controller.isp.example --controller-host 10.20.0.5`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			caV, err := pki.ParseValidity(caValidity)
			if err != nil {
				return fmt.Errorf("--ca-validity: %w", err)
			}
			ctrlV, err := pki.ParseValidity(ctrlValidity)
			if err != nil {
				return fmt.Errorf("--controller-validity: %w", err)
			}
			if len(hosts) == 0 {
				hosts = defaultControllerHosts()
			}
			f, err := pki.InitDir(dir, hosts, caV, ctrlV, force)
			if err != nil {
				return err
			}
			if g.json() {
				return printJSON(cmd.OutOrStdout(), f)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Created the %s in %s (valid until %s):\n", pki.CACommonName, f.Dir, f.CANotAfter.Format(time.DateOnly))
			fmt.Fprintf(out, "  %-19s CA certificate\n  %-19s CA private key (0600): keep it safe; \"agent enroll\" needs it\n", pki.CACertFile, pki.CAKeyFile)
			printControllerCert(out, f)
			fmt.Fprintf(out, "\nNext, for each POP: tollgatectl agent enroll POP --pki-dir %s --out DIR\n", f.Dir)
			return nil
		},
	}
	initCmd.Flags().StringVar(&dir, "dir", "", "directory for the CA and the controller's certificate (created with mode 0700)")
	initCmd.Flags().StringArrayVar(&hosts, "controller-host", nil, "DNS name or IP address agents use to reach the controller (repeatable)")
	initCmd.Flags().BoolVar(&force, "force", false, "replace an existing CA and controller certificate (locks out agents enrolled with the old CA)")
	initCmd.Flags().StringVar(&caValidity, "ca-validity", "10y", "CA lifetime")
	initCmd.Flags().StringVar(&ctrlValidity, "controller-validity", "1y", "controller certificate lifetime")
	_ = initCmd.MarkFlagRequired("dir")

	var renewDir, renewValidity string
	var renewHosts []string
	renew := &cobra.Command{
		Use:     "controller-cert --dir DIR",
		Short:   "Issue (renew) the controller's certificate from the CA in DIR, replacing controller.pem",
		Example: `  tollgatectl pki controller-cert --dir /etc/tollgate/pki --controller-host controller.isp.example`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := pki.ParseValidity(renewValidity)
			if err != nil {
				return fmt.Errorf("--validity: %w", err)
			}
			if len(renewHosts) == 0 {
				renewHosts = defaultControllerHosts()
			}
			f, err := pki.RenewController(renewDir, renewHosts, v)
			if err != nil {
				return err
			}
			if g.json() {
				return printJSON(cmd.OutOrStdout(), f)
			}
			printControllerCert(cmd.OutOrStdout(), f)
			return nil
		},
	}
	renew.Flags().StringVar(&renewDir, "dir", "", `directory made by "pki init"`)
	renew.Flags().StringArrayVar(&renewHosts, "controller-host", nil, "DNS name or IP address agents use to reach the controller (repeatable)")
	renew.Flags().StringVar(&renewValidity, "validity", "1y", "certificate lifetime")
	_ = renew.MarkFlagRequired("dir")

	cmd.AddCommand(initCmd, renew)
	return cmd
}

func printControllerCert(out io.Writer, f pki.DirFiles) {
	fmt.Fprintf(out, "  %-19s controller certificate for %s (valid until %s)\n  %-19s its private key (0600)\n",
		pki.ControllerCertFile, strings.Join(f.ControllerSANs, ", "), f.NotAfter.Format(time.DateOnly), pki.ControllerKeyFile)
	fmt.Fprintf(out, "\nController config (deploy/controller.example.yaml):\n\ngrpc:\n  tls:\n    cert_file: %s\n    key_file: %s\n    client_ca_file: %s\n",
		f.ControllerCert, f.ControllerKey, f.CACert)
}

func newAgentCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Agents: enrollment (local; no API call)",
	}
	var pkiDir, outDir, validity, configDir string
	var force bool
	enroll := &cobra.Command{
		Use:     "enroll POP --pki-dir DIR --out DIR",
		Short:   "Issue the certificate of an agent for POP and print its config",
		Example: `  tollgatectl agent enroll north-tower-1 --pki-dir /etc/tollgate/pki --out ./north-tower-1 --config-dir /etc/tollgate/tls`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pop := args[0]
			v, err := pki.ParseValidity(validity)
			if err != nil {
				return fmt.Errorf("--validity: %w", err)
			}
			e, err := pki.Enroll(pkiDir, outDir, configDir, pop, v, force)
			if err != nil {
				return err
			}
			if g.json() {
				return printJSON(cmd.OutOrStdout(), e)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Enrolled an agent for POP %s in %s (certificate valid until %s).\n", pop, outDir, e.NotAfter.Format(time.DateOnly))
			fmt.Fprintf(out, "\nAgent config (deploy/agent.example.yaml):\n\npop: %s\ncontroller:\n  tls:\n    cert_file: %s\n    key_file: %s\n    ca_file: %s\n",
				pop, e.CertFile, e.KeyFile, e.CAFile)
			return nil
		},
	}
	enroll.Flags().StringVar(&pkiDir, "pki-dir", "", `directory made by "pki init" (needs ca.pem and ca-key.pem)`)
	enroll.Flags().StringVar(&outDir, "out", "", "directory to write agent.pem, agent-key.pem and ca.pem to (created with mode 0700)")
	enroll.Flags().StringVar(&validity, "validity", "1y", `certificate lifetime: years ("1y"), days ("90d") or hours`)
	enroll.Flags().StringVar(&configDir, "config-dir", "", "where the files will be on the agent's host, for the printed config (default: --out)")
	enroll.Flags().BoolVar(&force, "force", false, "replace existing files in --out")
	_ = enroll.MarkFlagRequired("pki-dir")
	_ = enroll.MarkFlagRequired("out")
	cmd.AddCommand(enroll)
	return cmd
}
