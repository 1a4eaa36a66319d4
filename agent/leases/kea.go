package leases

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// ParseKea parses a Kea memfile lease file (kea-leases4.csv or
// kea-leases6.csv), found by its header: the columns are read by name, so
// files of any Kea version (more columns, pool_id, …) are read. A row's
// state 0 is a bound lease (1 declined, 2 expired-reclaimed, 3 released);
// a valid_lifetime of 0 is a lease Kea deleted. A DHCPv6 row of
// lease_type 2 (or IA_PD) with prefix_len below 128 is a delegated
// prefix. Each address's last row wins. Errors name the line.
func ParseKea(data []byte) ([]Lease, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("lease file line 1: empty, expected Kea's header (address,hwaddr,… or address,duid,…)")
	} else if pe := (*csv.ParseError)(nil); errors.As(err, &pe) {
		return nil, fmt.Errorf("lease file line %d: %w", pe.Line, pe.Err)
	} else if err != nil {
		return nil, fmt.Errorf("lease file line 1: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	for _, need := range []string{"address", "expire", "valid_lifetime", "state"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("lease file line 1: Kea header has no %q column", need)
		}
	}
	_, v6 := col["duid"]
	field := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	var out []Lease
	last := 1 // the line of the last record read
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return lastPerAddress(out), nil
		}
		if pe := (*csv.ParseError)(nil); errors.As(err, &pe) {
			return nil, fmt.Errorf("lease file line %d: %w", pe.Line, pe.Err)
		} else if err != nil {
			return nil, fmt.Errorf("lease file line %d: %w", last+1, err)
		}
		line, _ := r.FieldPos(0)
		last = line
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) < len(header) {
			return nil, fmt.Errorf("lease file line %d: %d fields, the header has %d", line, len(rec), len(header))
		}
		l, err := keaLease(field, rec, v6)
		if err != nil {
			return nil, fmt.Errorf("lease file line %d: %w", line, err)
		}
		out = append(out, l)
	}
}

func keaLease(field func([]string, string) string, rec []string, v6 bool) (Lease, error) {
	var l Lease
	a, err := netip.ParseAddr(field(rec, "address"))
	if err != nil {
		return l, fmt.Errorf("address %q is not an IP address", field(rec, "address"))
	}
	l.Address = netip.PrefixFrom(a, a.BitLen())
	if v6 {
		if pl := field(rec, "prefix_len"); pl != "" && pl != "128" && (field(rec, "lease_type") == "2" || field(rec, "lease_type") == "IA_PD") {
			n, err := strconv.Atoi(pl)
			if err != nil || n < 0 || n > 128 {
				return l, fmt.Errorf("prefix_len %q is not 0-128", pl)
			}
			l.Address = netip.PrefixFrom(a, n).Masked()
		}
		l.ClientID = strings.ToLower(field(rec, "duid"))
	} else {
		l.ClientID = strings.ToLower(field(rec, "client_id"))
	}
	l.HWAddr = strings.ToLower(field(rec, "hwaddr"))
	l.Hostname = unescapeKea(field(rec, "hostname"))
	expire, err := strconv.ParseInt(field(rec, "expire"), 10, 64)
	if err != nil || expire < 0 {
		return l, fmt.Errorf("expire %q is not seconds since the epoch", field(rec, "expire"))
	}
	valid, err := strconv.ParseInt(field(rec, "valid_lifetime"), 10, 64)
	if err != nil || valid < 0 {
		return l, fmt.Errorf("valid_lifetime %q is not a number of seconds", field(rec, "valid_lifetime"))
	}
	state, err := strconv.Atoi(field(rec, "state"))
	if err != nil {
		return l, fmt.Errorf("state %q is not a number", field(rec, "state"))
	}
	l.Ends = time.Unix(expire, 0).UTC()
	if valid == 0xFFFFFFFF { // infinite
		l.Ends = time.Time{}
	}
	l.Active = state == 0 && valid != 0
	return l, nil
}

// unescapeKea undoes Kea's escape of commas in text fields ("&#x2c").
func unescapeKea(s string) string { return strings.ReplaceAll(s, "&#x2c", ",") }
