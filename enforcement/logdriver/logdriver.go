package logdriver

import (
	"context"
	"log/slog"
	"sync"

	"github.com/tollgate-isp/tollgate/enforcement"
)

// Action is one recorded driver call.
type Action struct {
	Op        string // "suspend" or "restore"
	ServiceID string
	Addresses []string
	Reason    string
}

// Driver records actions. The zero value is not usable; call [New].
type Driver struct {
	log *slog.Logger

	mu      sync.Mutex
	state   map[string]enforcement.State
	actions []Action
}

var _ enforcement.Driver = (*Driver)(nil)

// New returns a log driver that logs through log.
func New(log *slog.Logger) *Driver {
	return &Driver{log: log, state: make(map[string]enforcement.State)}
}

// Suspend implements [enforcement.Driver].
func (d *Driver) Suspend(ctx context.Context, t enforcement.Target) error {
	d.record("suspend", enforcement.Suspended, t)
	return nil
}

// Restore implements [enforcement.Driver].
func (d *Driver) Restore(ctx context.Context, t enforcement.Target) error {
	d.record("restore", enforcement.Active, t)
	return nil
}

// Observe implements [enforcement.Driver]: a service never touched is active.
func (d *Driver) Observe(ctx context.Context, t enforcement.Target) (enforcement.State, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s, ok := d.state[t.ServiceID]; ok {
		return s, nil
	}
	return enforcement.Active, nil
}

// Actions returns a copy of every action recorded so far.
func (d *Driver) Actions() []Action {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Action(nil), d.actions...)
}

func (d *Driver) record(op string, s enforcement.State, t enforcement.Target) {
	d.mu.Lock()
	d.state[t.ServiceID] = s
	d.actions = append(d.actions, Action{Op: op, ServiceID: t.ServiceID, Addresses: t.Binding.Addresses, Reason: t.Reason})
	d.mu.Unlock()
	d.log.Info("log driver applied", "op", op, "service_id", t.ServiceID, "addresses", t.Binding.Addresses, "reason", t.Reason)
}
