package config

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Log configures structured logging.
type Log struct {
	// Level is debug, info, warn or error. Default info.
	Level string `yaml:"level"`
	// Format is json or text. Default json.
	Format string `yaml:"format"`
}

// NewLogger builds the slog logger the config describes, writing to w.
func (l Log) NewLogger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if l.Level == "" {
		l.Level = "info"
	}
	if err := level.UnmarshalText([]byte(l.Level)); err != nil {
		return nil, fmt.Errorf("log.level %q is not one of debug, info, warn, error", l.Level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(l.Format) {
	case "", "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log.format %q is not one of json, text", l.Format)
}
