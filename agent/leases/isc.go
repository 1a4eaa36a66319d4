package leases

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// ParseISC parses an ISC dhcpd lease file (dhcpd.leases or
// dhcpd6.leases): "lease ADDR { … }" blocks for DHCPv4, and "ia-na",
// "ia-ta" and "ia-pd" blocks holding "iaaddr ADDR { … }" or "iaprefix
// PREFIX { … }" for DHCPv6. Other statements and blocks (server-duid,
// failover state, …) are skipped. Each address's last block wins.
// Errors name the line: an unterminated string or block, a brace out of
// place, an address or a date that does not parse.
func ParseISC(data []byte) ([]Lease, error) {
	p := &iscParser{lx: iscLexer{data: data, line: 1}}
	var out []Lease
	for {
		t, err := p.lx.next()
		if err != nil {
			return nil, err
		}
		switch {
		case t.kind == tEOF:
			return lastPerAddress(out), nil
		case t.kind == '}':
			return nil, p.errorf(t.line, "'}' without a block to close")
		}
		head, end, err := p.statement(t)
		if err != nil {
			return nil, err
		}
		if end != '{' {
			continue
		}
		switch head[0].text {
		case "lease":
			l, err := p.lease(head, "lease ADDRESS")
			if err != nil {
				return nil, err
			}
			out = append(out, l)
		case "ia-na", "ia-ta", "ia-pd":
			ls, err := p.ia(head)
			if err != nil {
				return nil, err
			}
			out = append(out, ls...)
		default:
			if err := p.skipBlock(head[0].line); err != nil {
				return nil, err
			}
		}
	}
}

type iscParser struct{ lx iscLexer }

func (p *iscParser) errorf(line int, format string, a ...any) error {
	return fmt.Errorf("lease file line %d: %s", line, fmt.Sprintf(format, a...))
}

// statement reads the tokens of a statement starting with first up to its
// ';' or '{' (end says which).
func (p *iscParser) statement(first token) (toks []token, end byte, err error) {
	toks = []token{first}
	if first.kind == ';' || first.kind == '{' {
		return nil, 0, p.errorf(first.line, "%q where a statement should start", string(first.kind))
	}
	for {
		t, err := p.lx.next()
		if err != nil {
			return nil, 0, err
		}
		switch t.kind {
		case ';', '{':
			return toks, t.kind, nil
		case '}':
			return nil, 0, p.errorf(t.line, "statement %q ends with '}' instead of ';'", first.text)
		case tEOF:
			return nil, 0, p.errorf(first.line, "statement %q is not ended by ';' or '{' before the end of the file", first.text)
		}
		toks = append(toks, t)
	}
}

// body reads a block's statements up to its '}', calling fn for each
// (nested blocks: fn must read them, or they are skipped when fn returns
// false).
func (p *iscParser) body(open int, fn func(st []token, end byte) (bool, error)) error {
	for {
		t, err := p.lx.next()
		if err != nil {
			return err
		}
		switch t.kind {
		case '}':
			return nil
		case tEOF:
			return p.errorf(open, "block is not closed by '}' before the end of the file")
		}
		st, end, err := p.statement(t)
		if err != nil {
			return err
		}
		read, err := fn(st, end)
		if err != nil {
			return err
		}
		if end == '{' && !read {
			if err := p.skipBlock(st[0].line); err != nil {
				return err
			}
		}
	}
}

func (p *iscParser) skipBlock(open int) error {
	return p.body(open, func([]token, byte) (bool, error) { return false, nil })
}

// lease reads a lease's (or an iaaddr's or iaprefix's) block; head is
// "lease ADDR", "iaaddr ADDR" or "iaprefix PREFIX".
func (p *iscParser) lease(head []token, form string) (Lease, error) {
	var l Lease
	if len(head) != 2 {
		return l, p.errorf(head[0].line, "expected %s {", form)
	}
	var err error
	if head[0].text == "iaprefix" {
		l.Address, err = netip.ParsePrefix(head[1].text)
	} else {
		var a netip.Addr
		if a, err = netip.ParseAddr(head[1].text); err == nil {
			l.Address = netip.PrefixFrom(a, a.BitLen())
		}
	}
	if err != nil {
		return l, p.errorf(head[1].line, "%s: %q is not an address", head[0].text, head[1].text)
	}
	l.Address = l.Address.Masked()
	l.Active = true // an iaaddr without a binding state is bound
	err = p.body(head[0].line, func(st []token, end byte) (bool, error) {
		if end == '{' {
			return false, nil
		}
		args := st[1:]
		switch st[0].text {
		case "ends":
			t, err := iscTime(args)
			if err != nil {
				return false, p.errorf(st[0].line, "ends: %v", err)
			}
			l.Ends = t
		case "binding":
			if len(args) != 2 || args[0].text != "state" {
				return false, p.errorf(st[0].line, "expected binding state STATE;")
			}
			l.Active = args[1].text == "active"
		case "abandoned":
			l.Active = false
		case "hardware":
			if len(args) == 2 {
				l.HWAddr = strings.ToLower(args[1].text)
			}
		case "uid":
			if len(args) == 1 {
				l.ClientID = hexOf(args[0])
			}
		case "client-hostname":
			if len(args) == 1 {
				l.Hostname = args[0].text
			}
		case "option":
			if len(args) == 2 && args[0].text == "agent.circuit-id" {
				l.CircuitID = args[1].text
			} else if len(args) == 2 && args[0].text == "agent.remote-id" {
				l.RemoteID = args[1].text
			}
		}
		return false, nil
	})
	return l, err
}

// ia reads an ia-na, ia-ta or ia-pd block: its addresses or prefixes, the
// DUID (from the IA's id: 4 bytes of IAID, then the DUID) their client id.
func (p *iscParser) ia(head []token) ([]Lease, error) {
	duid := ""
	if len(head) == 2 && head[1].kind == tString && len(head[1].text) > 4 {
		duid = hexOf(token{kind: tString, text: head[1].text[4:]})
	}
	var out []Lease
	err := p.body(head[0].line, func(st []token, end byte) (bool, error) {
		if end != '{' || (st[0].text != "iaaddr" && st[0].text != "iaprefix") {
			return false, nil
		}
		l, err := p.lease(st, st[0].text+" ADDRESS")
		if err != nil {
			return false, err
		}
		l.ClientID = duid
		out = append(out, l)
		return true, nil
	})
	return out, err
}

// iscTime parses a lease time: "never", "W YYYY/MM/DD HH:MM:SS" (UTC) or
// "epoch SECONDS".
func iscTime(args []token) (time.Time, error) {
	switch {
	case len(args) == 1 && args[0].text == "never":
		return time.Time{}, nil
	case len(args) == 2 && args[0].text == "epoch":
		s, err := strconv.ParseInt(args[1].text, 10, 64)
		if err != nil || s < 0 {
			return time.Time{}, fmt.Errorf("%q is not seconds since the epoch", args[1].text)
		}
		return time.Unix(s, 0).UTC(), nil
	case len(args) == 3:
		t, err := time.Parse("2006/01/02 15:04:05", args[1].text+" "+args[2].text)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not a date YYYY/MM/DD HH:MM:SS", args[1].text+" "+args[2].text)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("expected never, epoch SECONDS or WEEKDAY YYYY/MM/DD HH:MM:SS")
}

// hexOf writes a binary string (a uid or DUID) as colon-separated hex; an
// unquoted one is already written so.
func hexOf(t token) string {
	if t.kind != tString {
		return strings.ToLower(t.text)
	}
	var b strings.Builder
	for i := 0; i < len(t.text); i++ {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02x", t.text[i])
	}
	return b.String()
}

const (
	tEOF    = 0
	tWord   = 'w'
	tString = 's'
)

type token struct {
	kind byte // tEOF, tWord, tString, ';', '{', '}'
	text string
	line int
}

// wordEnd marks the bytes that end a word.
var wordEnd = func() (t [256]bool) {
	for _, c := range []byte(" \t\r\n;{}\"#") {
		t[c] = true
	}
	return t
}()

// iscLexer splits a lease file into tokens: words, quoted strings (with
// their escapes decoded), ';', '{' and '}'; '#' comments are skipped.
type iscLexer struct {
	data []byte
	pos  int
	line int
}

func (lx *iscLexer) next() (token, error) {
	for lx.pos < len(lx.data) {
		c := lx.data[lx.pos]
		switch {
		case c == '\n':
			lx.line++
			lx.pos++
		case c == ' ' || c == '\t' || c == '\r':
			lx.pos++
		case c == '#':
			for lx.pos < len(lx.data) && lx.data[lx.pos] != '\n' {
				lx.pos++
			}
		case c == ';' || c == '{' || c == '}':
			lx.pos++
			return token{kind: c, line: lx.line}, nil
		case c == '"':
			return lx.str()
		default:
			start := lx.pos
			for lx.pos < len(lx.data) && !wordEnd[lx.data[lx.pos]] {
				lx.pos++
			}
			return token{kind: tWord, text: string(lx.data[start:lx.pos]), line: lx.line}, nil
		}
	}
	return token{kind: tEOF, line: lx.line}, nil
}

// str reads a quoted string: \" \\ and \NNN (octal) escapes; other
// escaped characters stand for themselves.
func (lx *iscLexer) str() (token, error) {
	line := lx.line
	lx.pos++ // the opening quote
	var b []byte
	for lx.pos < len(lx.data) {
		c := lx.data[lx.pos]
		lx.pos++
		switch c {
		case '"':
			// The bytes as they are: a uid is binary (hexOf writes it).
			return token{kind: tString, text: string(b), line: line}, nil
		case '\n':
			lx.line++
			b = append(b, c)
		case '\\':
			if lx.pos >= len(lx.data) {
				continue
			}
			e := lx.data[lx.pos]
			if e >= '0' && e <= '7' && lx.pos+2 < len(lx.data) {
				if v, err := strconv.ParseUint(string(lx.data[lx.pos:lx.pos+3]), 8, 8); err == nil {
					b = append(b, byte(v))
					lx.pos += 3
					continue
				}
			}
			if e == '\n' {
				lx.line++
			}
			b = append(b, e)
			lx.pos++
		default:
			b = append(b, c)
		}
	}
	return token{}, fmt.Errorf("lease file line %d: string is not closed by '\"' before the end of the file", line)
}
