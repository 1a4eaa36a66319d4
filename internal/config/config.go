package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// LoadFile decodes the YAML file at path into dst, refusing unknown keys so a
// typo in a config file is an error rather than a silently ignored setting.
// An empty path leaves dst as it is.
func LoadFile(path string, dst any) error {
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(dst); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}

// Env overlays environment variables onto config fields. Errors name the
// variable and the bad value.
type Env struct {
	lookup func(string) (string, bool)
	errs   []error
}

// NewEnv reads from the process environment.
func NewEnv() *Env { return &Env{lookup: os.LookupEnv} }

// NewEnvFrom reads from m (for tests).
func NewEnvFrom(m map[string]string) *Env {
	return &Env{lookup: func(k string) (string, bool) { v, ok := m[k]; return v, ok }}
}

// String sets *dst from variable name if it is set.
func (e *Env) String(name string, dst *string) {
	if v, ok := e.lookup(name); ok {
		*dst = v
	}
}

// Bool sets *dst from variable name if it is set.
func (e *Env) Bool(name string, dst *bool) {
	if v, ok := e.lookup(name); ok {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			e.errs = append(e.errs, fmt.Errorf("%s=%q is not a boolean (true/false)", name, v))
			return
		}
		*dst = b
	}
}

// Duration sets *dst from variable name if it is set.
func (e *Env) Duration(name string, dst *time.Duration) {
	if v, ok := e.lookup(name); ok {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			e.errs = append(e.errs, fmt.Errorf("%s=%q is not a duration (like 5s, 1m)", name, v))
			return
		}
		*dst = d
	}
}

// Err returns every problem met so far.
func (e *Env) Err() error { return errors.Join(e.errs...) }
