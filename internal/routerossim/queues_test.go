package routerossim_test

import (
	"reflect"
	"testing"

	"github.com/go-routeros/routeros/v3"

	"github.com/tollgate-isp/tollgate/internal/routerossim"
)

const sq = routerossim.PathSimpleQueue

// printed runs a print and returns each !re's properties.
func printed(t *testing.T, c *routeros.Client, words ...string) []map[string]string {
	t.Helper()
	var out []map[string]string
	for _, re := range run(t, c, append([]string{sq + "/print"}, words...)...).Re {
		out = append(out, re.Map)
	}
	return out
}

func TestSimpleQueueAddAndPrintWithGoRouterOS(t *testing.T) {
	s := start(t, routerossim.Config{})
	c := dial(t, s)

	id := run(t, c, sq+"/add", "=name=tollgate-svc-7", "=target=10.0.0.7", "=max-limit=20M/100M",
		"=burst-limit=40M/200M", "=burst-threshold=16M/80M", "=burst-time=16", "=priority=4",
		"=comment=tollgate:svc=7").Done.Map["ret"]
	if id != "*1" {
		t.Fatalf("add returned %q, want *1", id)
	}
	run(t, c, sq+"/add", "=name=tollgate-svc-8", "=target=10.0.0.8/32", "=max-limit=512k")
	run(t, c, sq+"/add", "=target=2001:db8::9")

	got := printed(t, c, "?name=tollgate-svc-7")
	want := []map[string]string{{
		".id": "*1", "name": "tollgate-svc-7", "target": "10.0.0.7/32", "parent": "none", "priority": "4/4",
		"limit-at": "0/0", "max-limit": "20000000/100000000", "burst-limit": "40000000/200000000",
		"burst-threshold": "16000000/80000000", "burst-time": "16s/16s", "invalid": "false", "dynamic": "false",
		"disabled": "false", "comment": "tollgate:svc=7",
	}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("print ?name=\n got %v\nwant %v", got, want)
	}

	got = printed(t, c, "?target=10.0.0.8/32", "=.proplist=.id,name,max-limit,comment")
	if want := []map[string]string{{".id": "*2", "name": "tollgate-svc-8", "max-limit": "512000/512000"}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("print ?target= .proplist\n got %v\nwant %v", got, want)
	}
	got = printed(t, c, "?target=2001:db8::9/128", "=.proplist=name")
	if want := []map[string]string{{"name": "queue1"}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("a queue added without a name: %v, want %v", got, want)
	}
	if got := printed(t, c, "?name=nothing"); len(got) != 0 {
		t.Fatalf("print of a missing name: %v", got)
	}
	if n := run(t, c, sq+"/print", "=count-only=").Done.Map["ret"]; n != "3" {
		t.Fatalf("count-only = %q, want 3", n)
	}
}

func TestSimpleQueueTrapsWithGoRouterOS(t *testing.T) {
	s := start(t, routerossim.Config{})
	c := dial(t, s)
	run(t, c, sq+"/add", "=name=q", "=target=10.0.0.7", "=max-limit=1M/1M")
	run(t, c, sq+"/add", "=name=r", "=target=10.0.0.8", "=max-limit=1M/1M")

	for _, tc := range []struct {
		words []string
		want  string
	}{
		{[]string{sq + "/add", "=name=q", "=target=10.0.0.9"}, routerossim.MsgAlreadyHaveName},
		{[]string{sq + "/set", "=numbers=r", "=name=q"}, routerossim.MsgAlreadyHaveName},
		{[]string{sq + "/add", "=name=s"}, "failure: target not specified"},
		{[]string{sq + "/add", "=name=s", "=target=10.0.0.300"}, "invalid value for argument target"},
		{[]string{sq + "/add", "=name=s", "=target=10.0.0.9", "=max-limit=fast"}, "invalid value for argument max-limit"},
		{[]string{sq + "/add", "=name=s", "=target=10.0.0.9", "=priority=9"}, "invalid value for argument priority"},
		{[]string{sq + "/add", "=name=s", "=target=10.0.0.9", "=burst-time=1.5"}, "invalid value for argument burst-time"},
		{[]string{sq + "/add", "=name=s", "=target=10.0.0.9", "=list=x"}, "unknown parameter list"},
		{[]string{sq + "/set", "=.id=*9", "=max-limit=1M"}, routerossim.MsgNoSuchItem},
		{[]string{sq + "/set", "=numbers=nosuch", "=max-limit=1M"}, routerossim.MsgNoSuchItem},
		{[]string{sq + "/remove", "=.id=*9"}, routerossim.MsgNoSuchItem},
	} {
		if msg := trapMessage(t, c, tc.words...); msg != tc.want {
			t.Errorf("%q: trap %q, want %q", tc.words, msg, tc.want)
		}
	}
	// Nothing that failed changed anything.
	qs := s.SimpleQueues()
	if len(qs) != 2 || qs[0].Name != "q" || qs[1].Name != "r" || qs[1].MaxLimit != "1000000/1000000" {
		t.Fatalf("queues after refused commands: %+v", qs)
	}
}

func TestSimpleQueueSetAndRemoveWithGoRouterOS(t *testing.T) {
	s := start(t, routerossim.Config{})
	c := dial(t, s)
	id := run(t, c, sq+"/add", "=name=tollgate-svc-7", "=target=10.0.0.7", "=max-limit=20M/100M", "=comment=tollgate:svc=7").Done.Map["ret"]
	run(t, c, sq+"/add", "=name=other", "=target=10.0.0.99", "=max-limit=1M/1M")

	// set by .id
	run(t, c, sq+"/set", "=.id="+id, "=max-limit=50M/250M", "=burst-limit=100M/500M", "=burst-time=1m30s")
	// set by name
	run(t, c, sq+"/set", "=numbers=tollgate-svc-7", "=priority=2/3", "=comment=")
	got := printed(t, c, "?name=tollgate-svc-7", "=.proplist=.id,max-limit,burst-limit,burst-time,priority,comment")
	want := []map[string]string{{".id": id, "max-limit": "50000000/250000000", "burst-limit": "100000000/500000000",
		"burst-time": "1m30s/1m30s", "priority": "2/3"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after set\n got %v\nwant %v", got, want)
	}
	// rename, then the new name finds it and the old one is free
	run(t, c, sq+"/set", "=.id="+id, "=name=renamed")
	run(t, c, sq+"/add", "=name=tollgate-svc-7", "=target=10.0.0.70")
	if got := printed(t, c, "?name=renamed", "=.proplist=.id"); len(got) != 1 || got[0][".id"] != id {
		t.Fatalf("renamed queue: %v", got)
	}

	run(t, c, sq+"/remove", "=.id="+id)
	run(t, c, sq+"/remove", "=numbers=other")
	got = printed(t, c, "=.proplist=name,target")
	if want := []map[string]string{{"name": "tollgate-svc-7", "target": "10.0.0.70/32"}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after remove\n got %v\nwant %v", got, want)
	}
}

func TestSimpleQueueTamperedByHand(t *testing.T) {
	s := start(t, routerossim.Config{})
	c := dial(t, s)
	run(t, c, sq+"/add", "=name=tollgate-svc-7", "=target=10.0.0.7", "=max-limit=20M/100M")
	if err := s.SetSimpleQueue("tollgate-svc-7", map[string]string{"max-limit": "1M/1M"}); err != nil {
		t.Fatal(err)
	}
	if got := printed(t, c, "?name=tollgate-svc-7", "=.proplist=max-limit"); got[0]["max-limit"] != "1000000/1000000" {
		t.Fatalf("the client does not see the hand edit: %v", got)
	}
	if err := s.SetSimpleQueue("nosuch", map[string]string{"max-limit": "1M"}); err == nil || err.Error() != routerossim.MsgNoSuchItem {
		t.Fatalf("SetSimpleQueue of a missing queue: %v", err)
	}
	if err := s.SetSimpleQueue("tollgate-svc-7", map[string]string{"max-limit": "x"}); err == nil {
		t.Fatal("SetSimpleQueue took an invalid max-limit")
	}
}
