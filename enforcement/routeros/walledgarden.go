package routeros

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// gardenRule is one walled-garden firewall rule; the driver recognises its
// own by the comment "<prefix>walled-garden <name>".
type gardenRule struct {
	menu  string
	name  string
	words []string
}

const (
	menuNAT    = "/ip/firewall/nat"
	menuFilter = "/ip/firewall/filter"
)

// gardenRules are the rules, in the order they must take at the top of
// their chains (deploy/routeros/walled-garden.rsc has the same).
func (r *router) gardenRules() []gardenRule {
	susp := "=src-address-list=" + r.cfg.AddressList
	ip, port := r.cfg.redirect.Addr().String(), strconv.Itoa(int(r.cfg.redirect.Port()))
	return []gardenRule{
		{menuNAT, "redirect http", []string{"=chain=dstnat", susp, "=protocol=tcp", "=dst-port=80", "=action=dst-nat", "=to-addresses=" + ip, "=to-ports=" + port}},
		// Throttled subscribers: their plain HTTP goes to the responder
		// too, and nothing of theirs is dropped (their queue holds them at
		// the throttle speed).
		{menuNAT, "redirect http throttled", []string{"=chain=dstnat", "=src-address-list=" + r.cfg.ThrottleList, "=protocol=tcp", "=dst-port=80",
			"=action=dst-nat", "=to-addresses=" + ip, "=to-ports=" + port}},
		{menuFilter, "accept dns udp", []string{"=chain=forward", susp, "=protocol=udp", "=dst-port=53", "=action=accept"}},
		{menuFilter, "accept dns tcp", []string{"=chain=forward", susp, "=protocol=tcp", "=dst-port=53", "=action=accept"}},
		{menuFilter, "accept responder", []string{"=chain=forward", susp, "=dst-address=" + ip, "=protocol=tcp", "=dst-port=" + port, "=action=accept"}},
		{menuFilter, "accept garden", []string{"=chain=forward", susp, "=dst-address-list=" + r.cfg.WalledGarden.List, "=action=accept"}},
		{menuFilter, "drop", []string{"=chain=forward", susp, "=action=drop"}},
	}
}

func (r *router) gardenComment(name string) string {
	return r.cfg.CommentPrefix + "walled-garden " + name
}

// bootstrap installs the walled-garden rules that are missing and puts
// the allowed addresses into the walled-garden list. A missing rule goes
// before the next of its fellows that exists, else right after the previous
// one, else before the first rule of the table (the driver's rules must
// come before a fasttrack or an "accept established" rule). Nothing is
// changed or removed.
func (r *router) bootstrap(ctx context.Context, s *session) error {
	rules := r.gardenRules()
	order := map[string][]string{}         // menu → rule ids in order
	ours := map[string]map[string]string{} // menu → our comment → id
	for _, menu := range []string{menuNAT, menuFilter} {
		c, err := s.run(ctx, menu+"/print", "=.proplist=.id,comment")
		if err != nil {
			return fmt.Errorf("print %s: %w", menu, err)
		}
		ours[menu] = map[string]string{}
		for _, sen := range c.re {
			order[menu] = append(order[menu], sen.Map[".id"])
			if cm := sen.Map["comment"]; strings.HasPrefix(cm, r.cfg.CommentPrefix+"walled-garden ") {
				ours[menu][cm] = sen.Map[".id"]
			}
		}
	}
	added := 0
	for i, rule := range rules {
		ids, mine := order[rule.menu], ours[rule.menu]
		cm := r.gardenComment(rule.name)
		if _, ok := mine[cm]; ok {
			continue
		}
		// Where it goes: an index into ids (len(ids): the end).
		at := -1
		for _, next := range rules[i+1:] {
			if id, ok := mine[r.gardenComment(next.name)]; ok && next.menu == rule.menu {
				at = slices.Index(ids, id)
				break
			}
		}
		for j := i - 1; at < 0 && j >= 0; j-- {
			if id, ok := mine[r.gardenComment(rules[j].name)]; ok && rules[j].menu == rule.menu {
				at = slices.Index(ids, id) + 1
			}
		}
		if at < 0 {
			at = 0
		}
		words := append([]string{rule.menu + "/add"}, rule.words...)
		words = append(words, "=comment="+cm)
		if at < len(ids) {
			words = append(words, "=place-before="+ids[at])
		}
		c, err := s.run(ctx, words...)
		if err != nil {
			return fmt.Errorf("add %s rule %q: %w", rule.menu, rule.name, err)
		}
		id := c.done.Map["ret"]
		mine[cm] = id
		order[rule.menu] = slices.Insert(ids, at, id)
		added++
	}
	for _, a := range r.cfg.allow {
		_, err := s.run(ctx, a.fam.menu+"/add", "=list="+r.cfg.WalledGarden.List, "=address="+a.key, "=comment="+r.cfg.CommentPrefix+"walled-garden")
		if msg, ok := trapMessage(err); ok && msg == msgAlreadyHave {
			continue
		}
		if err != nil {
			return fmt.Errorf("add %s to %s: %w", a.key, r.cfg.WalledGarden.List, err)
		}
	}
	if added > 0 {
		r.log.Info("walled-garden rules installed", "added", added)
	}
	return nil
}
