package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // account types name IANA zones; do not depend on the host's zoneinfo

	"github.com/tollgate-isp/tollgate/controller/app"
	"github.com/tollgate-isp/tollgate/controller/postgres"
)

const usage = `tollgate-controller runs Tollgate's central billing controller.

Usage:
  tollgate-controller [flags]           serve the admin API (HTTP) and the agents' stream (gRPC)
  tollgate-controller migrate [flags]   apply pending database migrations and exit
  tollgate-controller openapi           print the admin API's OpenAPI document (JSON) and exit

Settings come from defaults, then the config file, then TOLLGATE_* environment
variables, then flags. deploy/controller.example.yaml documents every setting.

Flags:
`

func main() {
	err := run(os.Args[1:], os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "tollgate-controller:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "openapi" {
		if len(args) > 1 {
			return fmt.Errorf("openapi takes no arguments; redirect its output to a file")
		}
		doc, err := app.OpenAPIDocument()
		if err != nil {
			return err
		}
		_, err = os.Stdout.Write(doc)
		return err
	}
	cmd := "serve"
	if len(args) > 0 && (args[0] == "migrate" || args[0] == "serve") {
		cmd, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("tollgate-controller", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	configPath := fs.String("config", os.Getenv("TOLLGATE_CONFIG"), "path to the YAML config file (env TOLLGATE_CONFIG)")
	dbURL := fs.String("database-url", "", "PostgreSQL URL (overrides database_url)")
	httpListen := fs.String("http-listen", "", "HTTP listen address (overrides http.listen; default :8080)")
	grpcListen := fs.String("grpc-listen", "", "gRPC listen address (overrides grpc.listen; default :9090)")
	noMigrate := fs.Bool("no-migrate", false, "do not apply migrations at start")
	logLevel := fs.String("log-level", "", "debug, info, warn or error (overrides log.level)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see -h)", fs.Arg(0))
	}

	cfg, err := app.LoadConfig(*configPath)
	if err != nil {
		return err
	}
	if *dbURL != "" {
		cfg.DatabaseURL = *dbURL
	}
	if *httpListen != "" {
		cfg.HTTP.Listen = *httpListen
	}
	if *grpcListen != "" {
		cfg.GRPC.Listen = *grpcListen
	}
	if *noMigrate {
		f := false
		cfg.MigrateOnStart = &f
	}
	if *logLevel != "" {
		cfg.Log.Level = *logLevel
	}
	log, err := cfg.Log.NewLogger(os.Stderr)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if cmd == "migrate" {
		if cfg.DatabaseURL == "" {
			return errors.New("database_url is required (or TOLLGATE_DATABASE_URL, or --database-url)")
		}
		v, err := postgres.MigrateWithLog(ctx, cfg.DatabaseURL, log)
		if err != nil {
			return err
		}
		log.Info("database schema is current", "version", v)
		return nil
	}

	c, err := app.New(ctx, cfg, log, app.Options{})
	if err != nil {
		return err
	}
	return c.Run(ctx)
}
