package snmp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/gosnmp/gosnmp"

	"github.com/tollgate-isp/tollgate/enforcement"
)

// Method is the binding method this driver serves (Binding.Method).
const Method = "snmp"

// ErrClosed is returned by a driver's methods after [Driver.Close].
var ErrClosed = errors.New("snmp driver is closed")

// ErrUnknownDevice is wrapped by errors for a binding whose Device is not in
// the driver's config.
var ErrUnknownDevice = errors.New("device is not in the snmp driver's config")

// Error is the error of one driver call: it names the operation, the
// service, the device and the ifIndex, and wraps the cause (a
// [*StatusError], [ErrNoSuchInterface], [ErrUnknownDevice], a context error,
// a timeout...).
type Error struct {
	Op        string // "suspend", "restore" or "observe"
	ServiceID string
	Device    string
	IfIndex   int32
	Err       error
}

func (e *Error) Error() string {
	return fmt.Sprintf("snmp: %s service %s: device %q ifIndex %d: %v", e.Op, e.ServiceID, e.Device, e.IfIndex, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Driver sets IF-MIB::ifAdminStatus of a service's interface down(2) to
// suspend it and up(1) to restore it, and reads it back to observe it. It is
// safe for concurrent use; requests to one device are bounded by its
// Concurrency. Create it with [New]; release its sockets with
// [Driver.Close].
type Driver struct {
	log     *slog.Logger
	devices map[string]*pool
	names   []string // sorted, for errors
	closed  atomic.Bool
}

var _ enforcement.Driver = (*Driver)(nil)

// New validates cfg, loads the devices' secrets (files and environment
// variables) and returns a driver. It does not contact the devices: sockets
// are opened on first use. log may be nil.
func New(cfg Config, log *slog.Logger) (*Driver, error) {
	return newDriver(cfg, log, os.LookupEnv)
}

func newDriver(cfg Config, log *slog.Logger, lookupEnv func(string) (string, bool)) (*Driver, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Driver{log: log, devices: make(map[string]*pool)}
	var errs []error
	for i, dc := range cfg.Devices {
		dev, err := dc.resolve(lookupEnv)
		if err != nil {
			errs = append(errs, fmt.Errorf("snmp.devices[%d] (%s): %w", i, orUnnamed(dc.Name), err))
			continue
		}
		if _, dup := d.devices[dev.name]; dup {
			errs = append(errs, fmt.Errorf("snmp.devices[%d]: name %q is used twice", i, dev.name))
			continue
		}
		d.devices[dev.name] = newPool(dev)
		d.names = append(d.names, dev.name)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.Sort(d.names)
	return d, nil
}

func orUnnamed(name string) string {
	if name == "" {
		return "unnamed"
	}
	return fmt.Sprintf("%q", name)
}

// Devices returns the names of the configured devices, sorted.
func (d *Driver) Devices() []string { return slices.Clone(d.names) }

// Close closes the driver's sockets. Calls in flight finish (their sockets
// are closed when they return); later calls fail with [ErrClosed]. Close is
// idempotent.
func (d *Driver) Close() error {
	if d.closed.Swap(true) {
		return nil
	}
	var errs []error
	for _, p := range d.devices {
		errs = append(errs, p.close())
	}
	return errors.Join(errs...)
}

// Suspend implements [enforcement.Driver]: ifAdminStatus.<ifIndex> = down(2).
func (d *Driver) Suspend(ctx context.Context, t enforcement.Target) error {
	return d.set(ctx, "suspend", t, AdminDown)
}

// Restore implements [enforcement.Driver]: ifAdminStatus.<ifIndex> = up(1).
func (d *Driver) Restore(ctx context.Context, t enforcement.Target) error {
	return d.set(ctx, "restore", t, AdminUp)
}

// Observe implements [enforcement.Driver]: it GETs ifAdminStatus.<ifIndex>
// from the device; up(1) is active, down(2) suspended, anything else an
// error naming the value.
func (d *Driver) Observe(ctx context.Context, t enforcement.Target) (enforcement.State, error) {
	p, err := d.lookup(ctx, t)
	if err != nil {
		return "", d.wrap("observe", t, err)
	}
	oid := adminStatusOID(t.Binding.IfIndex)
	var state enforcement.State
	err = p.do(ctx, func(g *gosnmp.GoSNMP) error {
		pkt, err := g.Get([]string{oid})
		if err != nil {
			return requestError{err}
		}
		state, err = stateFromGetResponse(pkt, t.Binding.IfIndex)
		return err
	})
	if err != nil {
		return "", d.wrap("observe", t, err)
	}
	return state, nil
}

func (d *Driver) set(ctx context.Context, op string, t enforcement.Target, value int) error {
	p, err := d.lookup(ctx, t)
	if err != nil {
		return d.wrap(op, t, err)
	}
	ifIndex := t.Binding.IfIndex
	err = p.do(ctx, func(g *gosnmp.GoSNMP) error {
		pkt, err := g.Set([]gosnmp.SnmpPDU{{Name: adminStatusOID(ifIndex), Type: gosnmp.Integer, Value: value}})
		if err != nil {
			return requestError{err}
		}
		return checkSetResponse(pkt, ifIndex, value)
	})
	if err != nil {
		return d.wrap(op, t, err)
	}
	d.log.DebugContext(ctx, "snmp: ifAdminStatus set", "op", op, "service", t.ServiceID,
		"device", t.Binding.Device, "if_index", ifIndex, "value", value)
	return nil
}

// lookup finds the target's device and checks the binding.
func (d *Driver) lookup(ctx context.Context, t enforcement.Target) (*pool, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if d.closed.Load() {
		return nil, ErrClosed
	}
	if t.Binding.Method != "" && t.Binding.Method != Method {
		return nil, fmt.Errorf("binding method is %q, not %q", t.Binding.Method, Method)
	}
	if t.Binding.Device == "" {
		return nil, errors.New("binding names no device")
	}
	p, ok := d.devices[t.Binding.Device]
	if !ok {
		known := "none"
		if len(d.names) > 0 {
			known = strings.Join(d.names, ", ")
		}
		return nil, fmt.Errorf("%w (configured: %s)", ErrUnknownDevice, known)
	}
	if t.Binding.IfIndex < 1 {
		return nil, fmt.Errorf("binding has no ifIndex (ifIndex must be 1 or more, got %d)", t.Binding.IfIndex)
	}
	return p, nil
}

func (d *Driver) wrap(op string, t enforcement.Target, err error) error {
	return &Error{Op: op, ServiceID: t.ServiceID, Device: t.Binding.Device, IfIndex: t.Binding.IfIndex, Err: err}
}
