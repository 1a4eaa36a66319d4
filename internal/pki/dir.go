package pki

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The files of a PKI directory ("tollgatectl pki init") and of an agent's
// directory ("tollgatectl agent enroll").
const (
	CACertFile         = "ca.pem"
	CAKeyFile          = "ca-key.pem"
	ControllerCertFile = "controller.pem"
	ControllerKeyFile  = "controller-key.pem"
	AgentCertFile      = "agent.pem"
	AgentKeyFile       = "agent-key.pem"
)

// ParseValidity reads a certificate lifetime: years ("10y", 365 days each),
// days ("90d") or a Go duration ("720h"). Errors: anything else, or not
// positive, or more than 100 years.
func ParseValidity(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	days := func(n string, per int) (time.Duration, error) {
		v, err := strconv.Atoi(n)
		if err != nil || v <= 0 || v > 100*365/per {
			return 0, errors.New("bad number")
		}
		return time.Duration(v*per) * 24 * time.Hour, nil
	}
	var d time.Duration
	var err error
	if n, ok := strings.CutSuffix(s, "y"); ok {
		d, err = days(n, 365)
	} else if n, ok := strings.CutSuffix(s, "d"); ok {
		d, err = days(n, 1)
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("validity %q is not a positive duration: years (\"10y\"), days (\"365d\") or hours (\"720h\")", s)
	}
	return d, nil
}

// DirFiles are the files of a PKI directory and what they hold.
type DirFiles struct {
	Dir            string    `json:"dir"`
	CACert         string    `json:"ca_cert"`
	CAKey          string    `json:"ca_key"`
	CANotAfter     time.Time `json:"ca_not_after"`
	ControllerCert string    `json:"controller_cert"`
	ControllerKey  string    `json:"controller_key"`
	ControllerSANs []string  `json:"controller_sans"`
	NotAfter       time.Time `json:"controller_not_after"`
}

func dirPaths(dir string) DirFiles {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return DirFiles{Dir: dir, CACert: filepath.Join(dir, CACertFile), CAKey: filepath.Join(dir, CAKeyFile),
		ControllerCert: filepath.Join(dir, ControllerCertFile), ControllerKey: filepath.Join(dir, ControllerKeyFile)}
}

// InitDir creates a CA and the controller's server certificate (naming
// hosts) in dir. Errors: dir already holds one of the files and not force
// (a new CA would lock out every agent enrolled with the old one), a bad
// host or validity, or the file system's; nothing is written then.
func InitDir(dir string, hosts []string, caValidity, validity time.Duration, force bool) (DirFiles, error) {
	if !force {
		for _, name := range []string{CACertFile, CAKeyFile, ControllerCertFile, ControllerKeyFile} {
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				return DirFiles{}, fmt.Errorf("%s already holds %s: a new CA would lock out every agent enrolled with the old one; use --force to replace it, \"agent enroll\" to use it, or \"pki controller-cert\" to renew the controller's certificate", dir, name)
			}
		}
	}
	ca, err := NewCA(caValidity)
	if err != nil {
		return DirFiles{}, err
	}
	return writeController(dir, ca, hosts, validity, true, force)
}

// RenewController issues the controller's certificate anew from the CA in
// dir, replacing the old one. Errors: dir holds no CA, a bad host or
// validity, or the file system's.
func RenewController(dir string, hosts []string, validity time.Duration) (DirFiles, error) {
	ca, err := LoadDirCA(dir)
	if err != nil {
		return DirFiles{}, err
	}
	return writeController(dir, ca, hosts, validity, false, true)
}

// writeController issues the controller's certificate and writes it (and
// the CA too if withCA), overwriting files only if overwrite.
func writeController(dir string, ca *CA, hosts []string, validity time.Duration, withCA, overwrite bool) (DirFiles, error) {
	srv, err := ca.IssueServer(hosts, validity)
	if err != nil {
		return DirFiles{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return DirFiles{}, err
	}
	f := dirPaths(dir)
	if withCA {
		if err := ca.Write(Files{Cert: f.CACert, Key: f.CAKey}, overwrite); err != nil {
			return DirFiles{}, err
		}
	}
	if err := srv.Write(Files{Cert: f.ControllerCert, Key: f.ControllerKey}, overwrite); err != nil {
		return DirFiles{}, err
	}
	f.CANotAfter, f.NotAfter = ca.Cert.NotAfter.UTC(), srv.Cert.NotAfter.UTC()
	f.ControllerSANs = append([]string(nil), srv.Cert.DNSNames...)
	for _, ip := range srv.Cert.IPAddresses {
		f.ControllerSANs = append(f.ControllerSANs, ip.String())
	}
	return f, nil
}

// LoadDirCA loads the CA of a PKI directory. Errors: dir holds none, or
// it does not parse.
func LoadDirCA(dir string) (*CA, error) {
	ca, err := LoadCA(filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s holds no CA (%s and %s): run \"tollgatectl pki init --dir %s\" first", dir, CACertFile, CAKeyFile, dir)
	}
	return ca, err
}

// Enrollment is an agent's certificate and where its files will be.
type Enrollment struct {
	POP      string    `json:"pop"`
	Serial   string    `json:"serial"`
	NotAfter time.Time `json:"not_after"`
	CertFile string    `json:"cert_file"`
	KeyFile  string    `json:"key_file"`
	CAFile   string    `json:"ca_file"`
}

// Enroll issues the client certificate of an agent for pop from the CA in
// pkiDir and writes it, its key and the CA certificate into outDir; the
// Enrollment names them as they will be in configDir on the agent's host
// (default: outDir). Errors: a bad POP id or validity, no CA, files in
// outDir that would be replaced without force, or the file system's.
func Enroll(pkiDir, outDir, configDir, pop string, validity time.Duration, force bool) (Enrollment, error) {
	if err := ValidatePOPID(pop); err != nil {
		return Enrollment{}, err
	}
	ca, err := LoadDirCA(pkiDir)
	if err != nil {
		return Enrollment{}, err
	}
	if err := os.MkdirAll(outDir, 0o700); err != nil {
		return Enrollment{}, err
	}
	caPath := filepath.Join(outDir, CACertFile)
	if old, err := os.ReadFile(caPath); err == nil && !SameCert(old, ca.CertPEM()) && !force {
		return Enrollment{}, fmt.Errorf("%s holds another CA certificate; use --force to replace it", caPath)
	}
	files := Files{Cert: filepath.Join(outDir, AgentCertFile), Key: filepath.Join(outDir, AgentKeyFile)}
	if !force {
		for _, p := range []string{files.Cert, files.Key} {
			if _, err := os.Stat(p); err == nil {
				return Enrollment{}, fmt.Errorf("%s already exists; use --force to replace it (to renew the certificate)", p)
			}
		}
	}
	kp, err := ca.IssueAgent(pop, validity)
	if err != nil {
		return Enrollment{}, err
	}
	if err := kp.Write(files, force); err != nil {
		return Enrollment{}, err
	}
	if err := WriteFile(caPath, ca.CertPEM(), 0o644, true); err != nil {
		return Enrollment{}, err
	}
	in := configDir
	if in == "" {
		in = outDir
		if abs, err := filepath.Abs(in); err == nil {
			in = abs
		}
	}
	return Enrollment{POP: pop, Serial: kp.Cert.SerialNumber.Text(16), NotAfter: kp.Cert.NotAfter.UTC(),
		CertFile: filepath.Join(in, AgentCertFile), KeyFile: filepath.Join(in, AgentKeyFile), CAFile: filepath.Join(in, CACertFile)}, nil
}
