package app

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate-isp/tollgate/controller/api"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/delivery"
	"github.com/tollgate-isp/tollgate/controller/documents"
	"github.com/tollgate-isp/tollgate/controller/jobs"
	"github.com/tollgate-isp/tollgate/controller/notify"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// buildDelivery sets up invoice delivery: email through notices.smtp, mail
// through delivery.print_mail, the delivery jobs on runner, and the
// service the API's delivery endpoints use (served even when nothing is
// delivered: listings and printed batches).
func (c *Controller) buildDelivery(clk clock.Clock, reg prometheus.Registerer, runner *jobs.Runner) (api.DeliveryService, error) {
	cfg := c.cfg.Delivery
	log := c.log.With("component", "delivery")
	company := documents.Company{Name: c.cfg.Company.Name, Address: c.cfg.Company.Address}
	source := delivery.DocumentSource{Loader: c.db, Company: company}
	m := delivery.NewMetrics(reg, c.db)
	opts := delivery.WorkerOptions{Company: company.Name, PortalURL: c.cfg.Notices.PortalURL, Metrics: m}
	if c.cfg.Notices.SMTP.Enabled() {
		sender, err := notify.NewSMTP(c.cfg.Notices.SMTP, clk)
		if err != nil {
			return nil, fmt.Errorf("notices.smtp: %w", err)
		}
		opts.Email = sender
	}
	var secrets []string
	if cfg.PrintMail.Enabled() {
		key, err := cfg.PrintMail.ReadAPIKey()
		if err != nil {
			return nil, err
		}
		pm, err := delivery.NewPrintMail(cfg.PrintMail, key)
		if err != nil {
			return nil, err
		}
		opts.Vendor, opts.PrintMail = pm, pm.Config()
		if secrets, err = cfg.PrintMail.ReadWebhookSecrets(); err != nil {
			return nil, err
		}
		if len(secrets) == 0 {
			log.Warn("delivery.print_mail.webhook_secret_file is not set: the vendor's status webhooks are refused and letters stay sent_to_vendor")
		}
	}
	if cfg.TemplatesDir != "" {
		t, err := delivery.LoadTemplates(cfg.TemplatesDir)
		if err != nil {
			return nil, fmt.Errorf("delivery.templates_dir: %w", err)
		}
		opts.Templates = t
	}
	var channels []billing.DeliveryChannel
	if opts.Email != nil || opts.Vendor != nil {
		w, err := delivery.NewWorker(cfg, c.db, source, opts, clk, log)
		if err != nil {
			return nil, err
		}
		runner.UseDeliverer(w)
		channels = w.Channels()
		vendor := "none (mail invoices are in each run's printed batch)"
		if opts.Vendor != nil {
			vendor = fmt.Sprint(opts.Vendor)
		}
		log.Info("invoices are delivered after each billing run", "channels", w.Channels(), "print_mail", vendor)
	} else {
		log.Warn("invoices are neither emailed nor mailed (notices.smtp and delivery.print_mail are not set); mail invoices are in each run's printed batch")
	}
	return delivery.NewService(c.db, source, delivery.ServiceOptions{WebhookSecrets: secrets,
		WebhookTolerance: cfg.PrintMail.WebhookTolerance, Metrics: m, Log: log, Clock: clk, Channels: channels}), nil
}
