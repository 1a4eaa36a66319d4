package routerossim

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// A query is the compiled form of a print command's query words (the words
// starting with '?'), evaluated as RouterOS documents it: a stack of
// booleans, initially holding an unlimited number of 'true' values; each
// word pushes a value or, for ?#, operates on the stack; the item matches
// unless a 'false' is left anywhere on the stack.
//
//	?name       push: the item has a value for name
//	?-name      push: the item has no value for name
//	?name=x     push: name's value equals x (also written ?=name=x)
//	?<name=x    push: name's value is less than x
//	?>name=x    push: name's value is greater than x
//	?#ops       ops, left to right: a decimal index followed by another
//	            character pushes a copy of the value at that index (top is
//	            0); an index ending the word replaces the whole stack with
//	            that value; '!' negates the top; '&' and '|' pop two values
//	            and push their and/or; '.' right after an index does nothing,
//	            anywhere else it pushes a copy of the top.
type query struct {
	steps []step
}

type stepKind int

const (
	stepHas stepKind = iota
	stepHasNot
	stepEq
	stepLess
	stepGreater
	stepOps
)

type step struct {
	kind  stepKind
	name  string
	value string
	ops   []op
}

type opKind int

const (
	opPushIndex opKind = iota
	opReplaceIndex
	opNot
	opAnd
	opOr
	opDup
)

type op struct {
	kind  opKind
	index int
}

// compileQuery compiles query words given without their leading '?'.
func compileQuery(words []string) (*query, error) {
	q := &query{}
	for _, w := range words {
		s, err := compileWord(w)
		if err != nil {
			return nil, err
		}
		q.steps = append(q.steps, s)
	}
	return q, nil
}

func compileWord(w string) (step, error) {
	switch {
	case strings.HasPrefix(w, "#"):
		ops, err := compileOps(w[1:])
		return step{kind: stepOps, ops: ops}, err
	case strings.HasPrefix(w, "-"):
		if strings.Contains(w, "=") || len(w) == 1 {
			return step{}, fmt.Errorf("bad query word ?%s", w)
		}
		return step{kind: stepHasNot, name: w[1:]}, nil
	case strings.HasPrefix(w, "<"), strings.HasPrefix(w, ">"):
		name, value, ok := strings.Cut(w[1:], "=")
		if !ok || name == "" {
			return step{}, fmt.Errorf("bad query word ?%s", w)
		}
		kind := stepLess
		if w[0] == '>' {
			kind = stepGreater
		}
		return step{kind: kind, name: name, value: value}, nil
	case strings.HasPrefix(w, "="):
		name, value, ok := strings.Cut(w[1:], "=")
		if !ok || name == "" {
			return step{}, fmt.Errorf("bad query word ?%s", w)
		}
		return step{kind: stepEq, name: name, value: value}, nil
	}
	name, value, ok := strings.Cut(w, "=")
	if name == "" {
		return step{}, fmt.Errorf("bad query word ?%s", w)
	}
	if !ok {
		return step{kind: stepHas, name: name}, nil
	}
	return step{kind: stepEq, name: name, value: value}, nil
}

func compileOps(s string) ([]op, error) {
	var ops []op
	afterIndex := false
	for i := 0; i < len(s); {
		c := s[i]
		if c >= '0' && c <= '9' {
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			n, err := strconv.Atoi(s[i:j])
			if err != nil || n > 1<<20 {
				return nil, fmt.Errorf("bad stack index %q in ?#%s", s[i:j], s)
			}
			if j == len(s) {
				ops = append(ops, op{kind: opReplaceIndex, index: n})
			} else {
				ops = append(ops, op{kind: opPushIndex, index: n})
			}
			i, afterIndex = j, true
			continue
		}
		switch c {
		case '!':
			ops = append(ops, op{kind: opNot})
		case '&':
			ops = append(ops, op{kind: opAnd})
		case '|':
			ops = append(ops, op{kind: opOr})
		case '.':
			if !afterIndex {
				ops = append(ops, op{kind: opDup})
			}
		default:
			return nil, fmt.Errorf("unknown query operation %q in ?#%s", c, s)
		}
		i++
		afterIndex = false
	}
	return ops, nil
}

// match evaluates q for one item; get returns a property's value and
// whether the item has one.
func (q *query) match(get func(name string) (string, bool)) bool {
	if q == nil || len(q.steps) == 0 {
		return true
	}
	// stack holds the explicit values above the unlimited 'true's.
	var stack []bool
	pop := func() bool {
		if len(stack) == 0 {
			return true
		}
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		return v
	}
	at := func(i int) bool {
		if i >= len(stack) {
			return true
		}
		return stack[len(stack)-1-i]
	}
	for _, s := range q.steps {
		switch s.kind {
		case stepHas:
			_, ok := get(s.name)
			stack = append(stack, ok)
		case stepHasNot:
			_, ok := get(s.name)
			stack = append(stack, !ok)
		case stepEq, stepLess, stepGreater:
			v, ok := get(s.name)
			r := false
			switch {
			case !ok:
			case s.kind == stepEq:
				r = v == s.value
			case s.kind == stepLess:
				r = compareValues(v, s.value) < 0
			default:
				r = compareValues(v, s.value) > 0
			}
			stack = append(stack, r)
		case stepOps:
			for _, o := range s.ops {
				switch o.kind {
				case opPushIndex:
					stack = append(stack, at(o.index))
				case opReplaceIndex:
					stack = append(stack[:0], at(o.index))
				case opNot:
					stack = append(stack, !pop())
				case opAnd:
					a, b := pop(), pop()
					stack = append(stack, a && b)
				case opOr:
					a, b := pop(), pop()
					stack = append(stack, a || b)
				case opDup:
					stack = append(stack, at(0))
				}
			}
		}
	}
	for _, v := range stack {
		if !v {
			return false
		}
	}
	return true
}

// compareValues compares two property values the way a router orders them:
// numbers as numbers, IP addresses as addresses, anything else as strings.
// (Equality, for ?name=x, is exact string equality.)
func compareValues(a, b string) int {
	if x, err := strconv.ParseInt(a, 10, 64); err == nil {
		if y, err := strconv.ParseInt(b, 10, 64); err == nil {
			return cmpInt(x, y)
		}
	}
	if x, err := netip.ParseAddr(a); err == nil {
		if y, err := netip.ParseAddr(b); err == nil {
			if c := x.Compare(y); c != 0 {
				return c
			}
		}
	}
	return strings.Compare(a, b)
}

func cmpInt(x, y int64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// listAddresses recognises the query an address-list driver sends to look
// up one address (in one or two spellings): ?list=L ?address=A, or
// ?list=L ?address=A ?address=B ?#|. ok is false for any other query. A
// matching item has list L and one of the addresses, so the table's unique
// index finds every candidate (print still matches each against q).
func (q *query) listAddresses() (list string, addrs []string, ok bool) {
	s := q.steps
	if len(s) < 2 || s[0].kind != stepEq || s[0].name != "list" {
		return "", nil, false
	}
	eqAddr := func(st step) bool { return st.kind == stepEq && st.name == "address" }
	switch {
	case len(s) == 2 && eqAddr(s[1]):
		return s[0].value, []string{s[1].value}, true
	case len(s) == 4 && eqAddr(s[1]) && eqAddr(s[2]) && s[3].kind == stepOps && len(s[3].ops) == 1 && s[3].ops[0].kind == opOr:
		return s[0].value, []string{s[1].value, s[2].value}, true
	}
	return "", nil, false
}
