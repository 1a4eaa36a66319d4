package routerossim

import (
	"net/netip"
	"strings"
)

// Entry is one address-list entry, for tests that look at or tamper with
// the router behind a client's back.
type Entry struct {
	ID       string
	List     string
	Address  string
	Comment  string
	Disabled bool
	IPv6     bool
}

// addressTable picks the IPv4 or IPv6 address list for an address.
func (s *Server) addressTable(address string) *table {
	host, _, _ := strings.Cut(address, "/")
	if a, err := netip.ParseAddr(host); err == nil && a.Is6() && !a.Is4In6() {
		return s.tables[PathAddressListV6]
	}
	return s.tables[PathAddressList]
}

// Entries returns the entries of list ("" for every list), IPv4 ones first,
// each in the router's order.
func (s *Server) Entries(list string) []Entry {
	s.dbMu.Lock()
	defer s.dbMu.Unlock()
	var out []Entry
	for _, p := range []string{PathAddressList, PathAddressListV6} {
		t := s.tables[p]
		t.each(func(it *item) {
			if list != "" && it.vals["list"] != list {
				return
			}
			out = append(out, Entry{ID: formatID(it.id), List: it.vals["list"], Address: it.vals["address"],
				Comment: it.vals["comment"], Disabled: it.vals["disabled"] == "true", IPv6: t.v6})
		})
	}
	return out
}

// Count returns how many entries list has ("" for every list).
func (s *Server) Count(list string) int {
	s.dbMu.Lock()
	defer s.dbMu.Unlock()
	if list == "" {
		return s.tables[PathAddressList].live + s.tables[PathAddressListV6].live
	}
	n := 0
	for _, p := range []string{PathAddressList, PathAddressListV6} {
		s.tables[p].each(func(it *item) {
			if it.vals["list"] == list {
				n++
			}
		})
	}
	return n
}

// AddEntry adds an entry as a technician would (an empty comment adds
// none); it fails as the router would, for instance with
// MsgAlreadyHave.
func (s *Server) AddEntry(list, address, comment string) (string, error) {
	var a args
	a.add("list", list)
	a.add("address", address)
	if comment != "" {
		a.add("comment", comment)
	}
	s.dbMu.Lock()
	defer s.dbMu.Unlock()
	t := s.addressTable(address)
	id, err := t.add(a, s.cfg.Now())
	if err != nil {
		return "", err
	}
	s.noteLocked(t, OpAdd, false, t.get(id))
	return formatID(id), nil
}

// find returns the id of list's entry for address, or 0.
func (s *Server) find(list, address string) (*table, uint64) {
	t := s.addressTable(address)
	norm, err := normalizeAddress(address, t.v6)
	if err != nil {
		return t, 0
	}
	return t, t.uniq[uniqKey(list, norm)]
}

// RemoveEntry removes list's entry for address; false if there is none.
func (s *Server) RemoveEntry(list, address string) bool {
	s.dbMu.Lock()
	defer s.dbMu.Unlock()
	t, id := s.find(list, address)
	if id == 0 {
		return false
	}
	it := t.get(id)
	t.remove(id)
	s.noteLocked(t, OpRemove, false, it)
	return true
}

// SetEntryDisabled disables or enables list's entry for address; false if
// there is none.
func (s *Server) SetEntryDisabled(list, address string, disabled bool) bool {
	s.dbMu.Lock()
	defer s.dbMu.Unlock()
	t, id := s.find(list, address)
	if id == 0 {
		return false
	}
	verb := "enable"
	if disabled {
		verb = "disable"
	}
	return s.changeItemsLocked(t, verb, []uint64{id}, args{}, false) == nil
}

// Items returns every item of a menu (PathNAT, PathFilter,
// PathSimpleQueue, or an address list) in order, each as its properties with ".id".
func (s *Server) Items(path string) []map[string]string {
	s.dbMu.Lock()
	defer s.dbMu.Unlock()
	t := s.tables[path]
	if t == nil {
		return nil
	}
	var out []map[string]string
	t.each(func(it *item) {
		m := map[string]string{".id": formatID(it.id)}
		for k, v := range it.vals {
			m[k] = v
		}
		out = append(out, m)
	})
	return out
}
