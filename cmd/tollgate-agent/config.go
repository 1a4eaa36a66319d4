package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/tollgate-isp/tollgate/enforcement/radius"
	"github.com/tollgate-isp/tollgate/enforcement/routeros"
	"github.com/tollgate-isp/tollgate/enforcement/snmp"
	"os"
	"time"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tollgate-isp/tollgate/agent"
	"github.com/tollgate-isp/tollgate/internal/config"
)

// fileConfig is the agent's config file; deploy/agent.example.yaml documents
// every field.
type fileConfig struct {
	// POP is the id of the POP this agent enforces. Required. Env
	// TOLLGATE_POP.
	POP string `yaml:"pop"`
	// AgentID identifies this agent. Default: the host name.
	AgentID string `yaml:"agent_id"`
	// Controller is how to reach the controller.
	Controller struct {
		// Address is host:port of the controller's gRPC listener. Required.
		// Env TOLLGATE_CONTROLLER_ADDRESS.
		Address string `yaml:"address"`
		// InsecurePlaintext connects without TLS. Development only; default
		// false. Env TOLLGATE_CONTROLLER_INSECURE_PLAINTEXT.
		InsecurePlaintext bool `yaml:"insecure_plaintext"`
		TLS               struct {
			// CertFile and KeyFile are this agent's certificate and key.
			CertFile string `yaml:"cert_file"`
			KeyFile  string `yaml:"key_file"`
			// CAFile is the CA that signed the controller's certificate.
			CAFile string `yaml:"ca_file"`
			// ServerName overrides the name checked in the controller's
			// certificate. Default: the host part of Address.
			ServerName string `yaml:"server_name"`
		} `yaml:"tls"`
	} `yaml:"controller"`
	// Metrics is the HTTP listener for /metrics and /healthz.
	Metrics struct {
		// Listen address. Default ":9100"; "off" disables it. Env
		// TOLLGATE_METRICS_LISTEN.
		Listen string `yaml:"listen"`
	} `yaml:"metrics"`
	// Redirect is the redirect responder: the HTTP listener that the POP's
	// router dst-nats suspended subscribers' port 80 to
	// (deploy/routeros/walled-garden.rsc), answering with a 302 to the
	// customer portal (see agent.Responder).
	Redirect struct {
		// Listen address. Default "off" (not served): deploy/agent.example.yaml
		// sets ":8080", the port the walled-garden script dst-nats to. Env
		// TOLLGATE_REDIRECT_LISTEN.
		Listen string `yaml:"listen"`
	} `yaml:"redirect"`
	// StateFile is the agent's durable state (bbolt): desired state,
	// applied revision and per-service results, so that after a restart it
	// keeps enforcing without the controller and resumes where it left off.
	// Default /var/lib/tollgate-agent/state.db. Env
	// TOLLGATE_AGENT_STATE_FILE.
	StateFile string `yaml:"state_file"`
	// RetryInterval is how often failed applies are retried. Default 10s.
	RetryInterval time.Duration `yaml:"retry_interval"`
	// Reconnect bounds the jittered exponential backoff between attempts to
	// reach the controller. Defaults 200ms and 30s.
	Reconnect struct {
		BackoffMin time.Duration `yaml:"backoff_min"`
		BackoffMax time.Duration `yaml:"backoff_max"`
	} `yaml:"reconnect"`
	// ReconcileInterval is how often every applied service is read back
	// from its device and drift repaired. Default 5m; a negative value
	// turns it off.
	ReconcileInterval time.Duration `yaml:"reconcile_interval"`
	// RouterOS are the MikroTik routers of the POP (method routeros); see
	// enforcement/routeros/README.md. Default none.
	RouterOS routeros.Config `yaml:"routeros"`
	// RADIUS are the NASes, the accounting listener and the authorize
	// endpoint (method radius); see enforcement/radius/README.md (and
	// radius/README.md for the accounting listener and session table).
	// Default none: the driver is not registered.
	RADIUS *radius.Config `yaml:"radius"`
	// SNMP are the switches/OLTs whose ports are shut (method snmp); see
	// enforcement/snmp/README.md. Default none.
	SNMP snmp.Config `yaml:"snmp"`
	// Leases is the POP's DHCP server lease file (ISC dhcpd.leases or Kea
	// memfile CSV) from which the agent learns the addresses of services
	// that have none of their own. Default none.
	Leases agent.LeaseConfig `yaml:"leases"`
	// LearnFromRADIUS reports each RADIUS session's Framed-IP-Address,
	// Framed-IPv6-Prefix and Delegated-IPv6-Prefix (from the accounting
	// listener) to the controller as addresses of the service with its
	// User-Name. Needs radius. Default false.
	LearnFromRADIUS bool       `yaml:"learn_from_radius"`
	Log             config.Log `yaml:"log"`
}

// defaultStateFile is where the agent keeps its state unless told
// otherwise (systemd's StateDirectory=tollgate-agent).
const defaultStateFile = "/var/lib/tollgate-agent/state.db"

func loadConfig(path string) (fileConfig, error) {
	var c fileConfig
	if err := config.LoadFile(path, &c); err != nil {
		return c, err
	}
	env := config.NewEnv()
	env.String("TOLLGATE_POP", &c.POP)
	env.String("TOLLGATE_AGENT_ID", &c.AgentID)
	env.String("TOLLGATE_CONTROLLER_ADDRESS", &c.Controller.Address)
	env.Bool("TOLLGATE_CONTROLLER_INSECURE_PLAINTEXT", &c.Controller.InsecurePlaintext)
	env.String("TOLLGATE_METRICS_LISTEN", &c.Metrics.Listen)
	env.String("TOLLGATE_REDIRECT_LISTEN", &c.Redirect.Listen)
	env.String("TOLLGATE_AGENT_STATE_FILE", &c.StateFile)
	env.String("TOLLGATE_LOG_LEVEL", &c.Log.Level)
	return c, env.Err()
}

func (c *fileConfig) finish() error {
	var errs []error
	if c.POP == "" {
		errs = append(errs, errors.New("pop is required (or TOLLGATE_POP, or --pop)"))
	}
	if c.Controller.Address == "" {
		errs = append(errs, errors.New("controller.address is required (or TOLLGATE_CONTROLLER_ADDRESS, or --controller)"))
	}
	if !c.Controller.InsecurePlaintext {
		t := c.Controller.TLS
		if t.CertFile == "" || t.KeyFile == "" || t.CAFile == "" {
			errs = append(errs, errors.New("controller.tls needs cert_file, key_file and ca_file (or set controller.insecure_plaintext: true for development)"))
		}
	}
	if c.LearnFromRADIUS && c.RADIUS == nil {
		errs = append(errs, errors.New("learn_from_radius needs the radius section (its accounting listener)"))
	}
	if c.AgentID == "" {
		h, err := os.Hostname()
		if err != nil {
			errs = append(errs, fmt.Errorf("agent_id is not set and the host name is unknown: %w", err))
		}
		c.AgentID = h
	}
	if c.Metrics.Listen == "" {
		c.Metrics.Listen = ":9100"
	}
	if c.Redirect.Listen == "" {
		c.Redirect.Listen = "off"
	}
	if c.StateFile == "" {
		c.StateFile = defaultStateFile
	}
	if c.Reconnect.BackoffMin <= 0 {
		c.Reconnect.BackoffMin = 200 * time.Millisecond
	}
	if c.Reconnect.BackoffMax <= 0 {
		c.Reconnect.BackoffMax = 30 * time.Second
	}
	if c.Reconnect.BackoffMax < c.Reconnect.BackoffMin {
		errs = append(errs, fmt.Errorf("reconnect.backoff_max (%s) is below reconnect.backoff_min (%s)", c.Reconnect.BackoffMax, c.Reconnect.BackoffMin))
	}
	return errors.Join(errs...)
}

// transportCredentials returns the credentials for the controller
// connection and, with TLS, the notAfter of the agent's client certificate
// (zero without TLS).
func (c fileConfig) transportCredentials() (credentials.TransportCredentials, time.Time, error) {
	if c.Controller.InsecurePlaintext {
		return insecure.NewCredentials(), time.Time{}, nil
	}
	t := c.Controller.TLS
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("controller.tls: %w", err)
	}
	var notAfter time.Time
	if cert.Leaf != nil {
		notAfter = cert.Leaf.NotAfter
	}
	caPEM, err := os.ReadFile(t.CAFile)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("controller.tls.ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, time.Time{}, fmt.Errorf("controller.tls.ca_file %s holds no PEM certificate", t.CAFile)
	}
	return credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
		ServerName:   t.ServerName,
		MinVersion:   tls.VersionTLS13,
	}), notAfter, nil
}
