package billing

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// This file holds the service changes that are not about money: a move
// to another POP or binding ([PlanServiceMove]) and an edit in place of a
// service's name, service address or binding ([PlanServiceEdit]). Both are
// pure plans; the store applies one in one transaction with its audit
// entry and the enforcement changes it names, written by the one outbox
// writer.

// EntityService names services in the audit log.
const EntityService = "service"

// ServiceMove moves a service to another place on the network: another POP,
// or another binding at its POP (a new address, port or NAS user). The
// agent of the POP it leaves removes its enforcement; the agent of the POP
// it moves to applies its current desired state; the service's "last
// confirmed" starts again at the new place.
type ServiceMove struct {
	POP     string  `json:"pop" required:"true" doc:"The POP the service moves to; an existing POP (its current one to move within it)."`
	Binding Binding `json:"binding" required:"true" doc:"How the agent at the new place finds the subscriber (replaced as a whole)."`
	// ServiceAddress, when set, replaces the service address (a move to
	// another premises).
	ServiceAddress *Address `json:"service_address,omitempty" doc:"The new service address, when the subscriber moves premises."`
	Reason         string   `json:"reason,omitempty" doc:"Why; kept in the audit log."`
	// Allocate, as NewService.Allocate, at the POP it moves to.
	Allocate string `json:"allocate,omitempty" maxLength:"63" doc:"Add addresses from the new POP's pools to binding.addresses: auto or a pool's name (its old pool addresses are released into quarantine unless the binding keeps them); or learned: the addresses the new POP's agent learns."`
}

// BindingEdit corrects some of a binding's fields in place (a typo in an
// address or ifIndex); nil fields are left as they are. Another method is
// a move, not an edit.
type BindingEdit struct {
	Addresses      *[]string `json:"addresses,omitempty" doc:"The subscriber's addresses or prefixes (replaced as a whole)."`
	RADIUSUsername *string   `json:"radius_username,omitempty"`
	Device         *string   `json:"device,omitempty"`
	IfIndex        *int32    `json:"if_index,omitempty"`
}

// ServiceEdit changes some of a service's fields in place; a nil field is
// left as it is.
type ServiceEdit struct {
	Name           *string      `json:"name,omitempty" doc:"The service's name; not empty."`
	ServiceAddress *Address     `json:"service_address,omitempty" doc:"Where the service is delivered (replaced as a whole); the account's address stays the billing address."`
	Binding        *BindingEdit `json:"binding,omitempty" doc:"Corrections to the binding at the service's POP."`
	Reason         string       `json:"reason,omitempty" doc:"Why; kept in the audit log."`
}

// ServiceChangeInput is what [PlanServiceMove] and [PlanServiceEdit]
// decide from.
type ServiceChangeInput struct {
	// Service is the service as stored now (locked by the store).
	Service Service
	// IfVersion is the version the caller read (If-Match).
	IfVersion int64
	// POPExists says whether the POP a move names exists.
	POPExists bool
	// Today is the local date of the change (the account type's zone).
	Today Date
	Actor string
	At    time.Time
}

// ServiceChangePlan is a decided move or edit.
type ServiceChangePlan struct {
	// Service is the service after the change; its Version is one more
	// than before when Changed.
	Service Service
	// Changed is false when the change changes nothing: nothing is
	// written and the version stays.
	Changed bool
	// Enforce: the service's current desired state, with its new binding,
	// goes to the agent of Service.POP at that POP's next revision.
	Enforce bool
	// RemoveFrom, when not empty, is the POP the service leaves: its agent
	// removes the enforcement of RemoveBinding (a "removed" change at that
	// POP's next revision).
	RemoveFrom    string
	RemoveBinding Binding
	// ResetConfirmation: what the agents reported about the service no
	// longer says anything about its new place.
	ResetConfirmation bool
	Audit             AuditEntry
}

// Equal reports whether two bindings enforce the same thing.
func (b Binding) Equal(o Binding) bool {
	return b.Method == o.Method && slices.Equal(b.Addresses, o.Addresses) && b.RADIUSUsername == o.RADIUSUsername &&
		b.Device == o.Device && b.IfIndex == o.IfIndex
}

// Cancelled reports whether the service has ended by today: its end date
// (exclusive) is on or before today.
func (s Service) Cancelled(today Date) bool {
	return !s.EndDate.IsZero() && !s.EndDate.After(today)
}

// checkAddress validates and trims an address's fields, naming each as
// field.line1, ….
func checkAddress(field string, a *Address) error {
	for _, f := range []struct {
		name string
		p    *string
		max  int
	}{
		{"line1", &a.Line1, 200}, {"line2", &a.Line2, 200}, {"city", &a.City, 100},
		{"region", &a.Region, 100}, {"postal_code", &a.PostalCode, 20}, {"country", &a.Country, 100},
	} {
		*f.p = strings.TrimSpace(*f.p)
		if err := CheckText(*f.p, f.name == "line1" || f.name == "line2", f.max); err != nil {
			return Errorf(EINVALID, "%s.%s %s", field, f.name, ErrorMessage(err))
		}
	}
	return nil
}

// checkReason trims a change's reason and checks its length.
func checkReason(r *string) error {
	*r = strings.TrimSpace(*r)
	if err := CheckText(*r, true, 500); err != nil {
		return Errorf(EINVALID, "reason %s", ErrorMessage(err))
	}
	return nil
}

// bindingError names the binding field of a binding's validation error.
func bindingError(err error) error {
	return Errorf(EINVALID, "binding: %s", ErrorMessage(err))
}

// PlanServiceMove validates a move against the service and decides it.
//
// Errors: EPRECONDITION when IfVersion is not the service's version; and
// EINVALID naming the field: pop not a valid POP id or no existing POP;
// binding incomplete for its method; service_address or reason too long
// or not text; the service cancelled (ended on or before Today); a move
// to the service's own POP and binding (nothing would move).
func PlanServiceMove(in ServiceChangeInput, mv ServiceMove) (ServiceChangePlan, error) {
	cur := in.Service
	if in.IfVersion != cur.Version {
		return ServiceChangePlan{}, StaleVersionError(EntityService, cur.ID, in.IfVersion, cur.Version)
	}
	mv.POP = strings.TrimSpace(mv.POP)
	if err := ValidatePOPID(mv.POP); err != nil {
		return ServiceChangePlan{}, err
	}
	if err := mv.Binding.validate(mv.Allocate == AllocateLearned); err != nil {
		return ServiceChangePlan{}, bindingError(err)
	}
	if mv.ServiceAddress != nil {
		if err := checkAddress("service_address", mv.ServiceAddress); err != nil {
			return ServiceChangePlan{}, err
		}
	}
	if err := checkReason(&mv.Reason); err != nil {
		return ServiceChangePlan{}, err
	}
	if cur.Cancelled(in.Today) {
		return ServiceChangePlan{}, Errorf(EINVALID, "service %d was cancelled (its service ended %s): a cancelled service cannot be moved", cur.ID, cur.EndDate)
	}
	if mv.POP != cur.POP && !in.POPExists {
		return ServiceChangePlan{}, Errorf(EINVALID, "pop %q does not exist (a POP exists once a service has been created there)", mv.POP)
	}
	if mv.POP == cur.POP && mv.Binding.Equal(cur.Binding) {
		return ServiceChangePlan{}, Errorf(EINVALID, "binding: service %d is already at POP %q with this binding; a move needs another POP or another binding", cur.ID, cur.POP)
	}
	next := cur
	before, after := map[string]any{}, map[string]any{}
	if mv.POP != cur.POP {
		before["pop"], after["pop"] = cur.POP, mv.POP
		next.POP = mv.POP
	}
	if !mv.Binding.Equal(cur.Binding) {
		before["binding"], after["binding"] = cur.Binding, mv.Binding
		next.Binding = mv.Binding
	}
	if mv.ServiceAddress != nil && *mv.ServiceAddress != cur.ServiceAddress {
		before["service_address"], after["service_address"] = cur.ServiceAddress, *mv.ServiceAddress
		next.ServiceAddress = *mv.ServiceAddress
	}
	next.Version = cur.Version + 1
	next.Confirmation = Confirmation{}
	next.UpdatedAt = in.At
	plan := ServiceChangePlan{Service: next, Changed: true, Enforce: true, ResetConfirmation: true,
		Audit: AuditEntry{Actor: in.Actor, At: in.At, Entity: EntityService, EntityID: cur.ID, Before: before, After: after,
			Reason: cmp.Or(mv.Reason, moveWords(cur, next))}}
	if next.POP != cur.POP {
		plan.RemoveFrom, plan.RemoveBinding = cur.POP, cur.Binding
	}
	return plan, nil
}

// moveWords says what a move did, for an audit entry without a reason.
func moveWords(from, to Service) string {
	if from.POP != to.POP {
		return fmt.Sprintf("moved from POP %s to POP %s", from.POP, to.POP)
	}
	return fmt.Sprintf("moved to another binding at POP %s", to.POP)
}

// PlanServiceEdit validates an edit in place against the service and
// decides it. A changed binding goes to the POP's agent at the next
// revision (the agent releases the old binding and applies the new one);
// a name or service address changes nothing on the network.
//
// Errors: EPRECONDITION when IfVersion is not the service's version; and
// EINVALID naming the field: name empty or longer than 200 characters;
// service_address or reason too long or not text; a binding that its
// method cannot enforce after the edit (binding.addresses not addresses,
// binding.if_index not positive for snmp, …).
func PlanServiceEdit(in ServiceChangeInput, e ServiceEdit) (ServiceChangePlan, error) {
	cur := in.Service
	if in.IfVersion != cur.Version {
		return ServiceChangePlan{}, StaleVersionError(EntityService, cur.ID, in.IfVersion, cur.Version)
	}
	next := cur
	before, after := map[string]any{}, map[string]any{}
	if e.Name != nil {
		name := strings.TrimSpace(*e.Name)
		if err := CheckText(name, false, 200); err != nil {
			return ServiceChangePlan{}, Errorf(EINVALID, "name %s", ErrorMessage(err))
		}
		if name == "" {
			return ServiceChangePlan{}, Errorf(EINVALID, "name may not be empty")
		}
		if name != cur.Name {
			before["name"], after["name"] = cur.Name, name
			next.Name = name
		}
	}
	if e.ServiceAddress != nil {
		if err := checkAddress("service_address", e.ServiceAddress); err != nil {
			return ServiceChangePlan{}, err
		}
		if *e.ServiceAddress != cur.ServiceAddress {
			before["service_address"], after["service_address"] = cur.ServiceAddress, *e.ServiceAddress
			next.ServiceAddress = *e.ServiceAddress
		}
	}
	if err := checkReason(&e.Reason); err != nil {
		return ServiceChangePlan{}, err
	}
	if be := e.Binding; be != nil {
		b := cur.Binding
		b.Addresses = slices.Clone(b.Addresses)
		if be.Addresses != nil {
			b.Addresses = make([]string, len(*be.Addresses))
			for i, a := range *be.Addresses {
				b.Addresses[i] = strings.TrimSpace(a)
			}
		}
		if be.RADIUSUsername != nil {
			b.RADIUSUsername = strings.TrimSpace(*be.RADIUSUsername)
		}
		if be.Device != nil {
			b.Device = strings.TrimSpace(*be.Device)
		}
		if be.IfIndex != nil {
			if *be.IfIndex < 0 {
				return ServiceChangePlan{}, Errorf(EINVALID, "binding.if_index %d must not be negative", *be.IfIndex)
			}
			b.IfIndex = *be.IfIndex
		}
		if err := b.Validate(); err != nil {
			return ServiceChangePlan{}, bindingError(err)
		}
		if !b.Equal(cur.Binding) {
			before["binding"], after["binding"] = cur.Binding, b
			next.Binding = b
		}
	}
	if len(after) == 0 {
		return ServiceChangePlan{Service: cur}, nil
	}
	next.Version = cur.Version + 1
	next.UpdatedAt = in.At
	_, bindingChanged := after["binding"]
	return ServiceChangePlan{Service: next, Changed: true, Enforce: bindingChanged,
		Audit: AuditEntry{Actor: in.Actor, At: in.At, Entity: EntityService, EntityID: cur.ID, Before: before, After: after, Reason: e.Reason}}, nil
}
