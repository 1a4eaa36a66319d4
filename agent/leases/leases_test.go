package leases

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const iscSample = `# The format of this file is documented in the dhcpd.leases(5) manual page.
# This lease file was written by isc-dhcp-4.4.3
authoring-byte-order little-endian;
server-duid "\000\001\000\001-\246\2113\000\014)\233\331\233";

lease 100.64.1.20 {
  starts 4 2026/12/03 10:00:00;
  ends 5 2026/12/04 10:00:00;
  cltt 4 2026/12/03 10:00:00;
  binding state active;
  next binding state free;
  rewind binding state free;
  hardware ethernet 00:1A:2B:3C:4D:5E;
  uid "\001\000\032+<M^";
  set vendor-class-identifier = "MSFT 5.0";
  option agent.circuit-id "olt1 0/1/3:100";
  option agent.remote-id "service-42";
  client-hostname "jane-laptop";
}
lease 100.64.1.21 {
  starts 4 2026/12/03 10:00:00;
  ends epoch 1900000000; # some day
  binding state active;
  hardware ethernet 00:1a:2b:3c:4d:5f;
}
lease 100.64.1.20 {
  starts 4 2026/12/03 11:00:00;
  ends 4 2026/12/03 12:00:00;
  binding state active;
  hardware ethernet 00:1a:2b:3c:4d:5e;
  option agent.remote-id "service-42";
}
lease 100.64.1.22 {
  ends never;
  binding state free;
  hardware ethernet 00:1a:2b:3c:4d:60;
}
failover peer "dhcp" state {
  my state normal at 4 2026/12/03 10:00:00;
}
ia-pd "\001\002\003\004\000\001\000\001\252\273" {
  cltt 4 2026/12/03 10:00:00;
  iaprefix 2001:db8:100:300::/56 {
    binding state active;
    preferred-life 375;
    max-life 600;
    ends 5 2026/12/04 10:00:00;
  }
}
`

func TestParseISCKeepsTheLastBlockOfEachAddress(t *testing.T) {
	ls, err := ParseISC([]byte(iscSample))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Lease{}
	for _, l := range ls {
		got[l.Address.String()] = l
	}
	if len(ls) != 4 {
		t.Fatalf("%d leases: %+v", len(ls), ls)
	}
	l := got["100.64.1.20/32"]
	if !l.Active || l.HWAddr != "00:1a:2b:3c:4d:5e" || l.RemoteID != "service-42" || l.CircuitID != "" ||
		!l.Ends.Equal(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("100.64.1.20 is not its last block: %+v", l)
	}
	if l := got["100.64.1.21/32"]; !l.Ends.Equal(time.Unix(1900000000, 0)) {
		t.Errorf("ends epoch: %+v", l)
	}
	if l := got["100.64.1.22/32"]; l.Active || !l.Ends.IsZero() {
		t.Errorf("a free lease: %+v", l)
	}
	if l := got["2001:db8:100:300::/56"]; !l.Active || l.ClientID != "00:01:00:01:aa:bb" {
		t.Errorf("delegated prefix: %+v", l)
	}
	first, _ := ParseISC([]byte(iscSample[:strings.Index(iscSample, "lease 100.64.1.21")]))
	if len(first) != 1 || first[0].ClientID != "01:00:1a:2b:3c:4d:5e" || first[0].CircuitID != "olt1 0/1/3:100" || first[0].Hostname != "jane-laptop" {
		t.Errorf("first block: %+v", first)
	}
}

func TestParseISCErrorsNameTheLine(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"lease 1.2.3.4 {\n  ends 4 2026/13/40 10:00:00;\n}\n", "line 2: ends:"},
		{"lease 1.2.3.999 {\n}\n", "line 1: lease: \"1.2.3.999\" is not an address"},
		{"lease 1.2.3.4 {\n  binding state active;\n", "line 1: block is not closed"},
		{"\n\n}\n", "line 3: '}' without a block"},
		{"lease 1.2.3.4 {\n client-hostname \"x;\n}\n", "line 2: string is not closed"},
		{"lease 1.2.3.4 {\n hardware ethernet 00:11 }\n", "line 2: statement \"hardware\" ends with '}'"},
		{"authoring-byte-order little-endian", "line 1: statement \"authoring-byte-order\" is not ended"},
	} {
		_, err := ParseISC([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseISC(%q) = %v; want an error containing %q", c.in, err, c.want)
		}
	}
}

const keaSample4 = `address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context,pool_id
100.64.1.30,00:1a:2b:3c:4d:61,01:00:1a:2b:3c:4d:61,3600,1900000000,1,0,0,jane&#x2c home,0,,0
100.64.1.31,00:1a:2b:3c:4d:62,,3600,1900000000,1,0,0,,0,,0
100.64.1.31,00:1a:2b:3c:4d:62,,0,1900000000,1,0,0,,0,,0
100.64.1.32,00:1a:2b:3c:4d:63,,3600,1900000000,1,0,0,,1,,0
`

const keaSample6 = `address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source
2001:db8:1::10,00:01:00:01:aa:bb,4000,1900000000,1,3000,0,1,128,0,0,,00:1a:2b:3c:4d:64,0,,1,0
2001:db8:200:100::,00:01:00:01:aa:bb,4000,1900000000,1,3000,2,2,56,0,0,,,0,,1,0
`

func TestParseKea(t *testing.T) {
	ls, err := ParseKea([]byte(keaSample4))
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 3 || ls[0].Hostname != "jane, home" || !ls[0].Active || ls[1].Active || ls[2].Active {
		t.Fatalf("v4 leases: %+v", ls)
	}
	if !ls[0].Ends.Equal(time.Unix(1900000000, 0)) || ls[0].ClientID != "01:00:1a:2b:3c:4d:61" {
		t.Errorf("v4 lease: %+v", ls[0])
	}
	ls, err = ParseKea([]byte(keaSample6))
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 2 || ls[0].Address.String() != "2001:db8:1::10/128" || ls[1].Address.String() != "2001:db8:200:100::/56" || ls[1].ClientID != "00:01:00:01:aa:bb" {
		t.Fatalf("v6 leases: %+v", ls)
	}
	for _, c := range []struct{ in, want string }{
		{"", "line 1: empty"},
		{"address,hwaddr\n", `line 1: Kea header has no "expire"`},
		{strings.SplitAfter(keaSample4, "\n")[0] + "100.64.1.x,,,1,2,1,0,0,,0,,0\n", `line 2: address "100.64.1.x"`},
		{strings.SplitAfter(keaSample4, "\n")[0] + "100.64.1.1,,,1,2,1,0,0,,0,,0\n100.64.1.2,,,1,soon,1,0,0,,0,,0\n", `line 3: expire "soon"`},
		{strings.SplitAfter(keaSample4, "\n")[0] + "100.64.1.1,,,1\n", "line 2: 4 fields, the header has 12"},
	} {
		_, err := ParseKea([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseKea(%q) = %v; want an error containing %q", c.in, err, c.want)
		}
	}
}

func TestLearnMatchesLeasesToServices(t *testing.T) {
	ls, err := ParseISC([]byte(iscSample))
	if err != nil {
		t.Fatal(err)
	}
	services := map[string]string{"42": "", "43": "00:1A:2B:3C:4D:5F"}
	now := time.Date(2026, 12, 3, 11, 30, 0, 0, time.UTC)
	byRemote := Learn(ls, NewMatcher(MatchRemoteID, services), now)
	if len(byRemote) != 1 || byRemote[0].ServiceID != "42" || byRemote[0].Address.String() != "100.64.1.20/32" {
		t.Errorf("by remote id: %+v", byRemote)
	}
	if got := Learn(ls, NewMatcher(MatchRemoteID, services), now.Add(time.Hour)); len(got) != 0 {
		t.Errorf("an expired lease was learned: %+v", got)
	}
	byMAC := Learn(ls, NewMatcher(MatchHWAddr, services), now)
	if len(byMAC) != 1 || byMAC[0].ServiceID != "43" || byMAC[0].Address.String() != "100.64.1.21/32" {
		t.Errorf("by hardware address as RADIUS user name: %+v", byMAC)
	}
}

func FuzzParseISC(f *testing.F) {
	f.Add([]byte(iscSample))
	f.Add([]byte("lease 1.2.3.4 { ends never; }"))
	f.Add([]byte("ia-na \"abcd\" { iaaddr ::1 { ends epoch 5; } }"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ls, err := ParseISC(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "lease file line ") {
				t.Fatalf("error without its line: %v", err)
			}
			return
		}
		for _, l := range ls {
			if !l.Address.IsValid() {
				t.Fatalf("invalid address in %+v", l)
			}
		}
	})
}

func FuzzParseKea(f *testing.F) {
	f.Add([]byte(keaSample4))
	f.Add([]byte(keaSample6))
	f.Fuzz(func(t *testing.T, data []byte) {
		ls, err := ParseKea(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "lease file line ") {
				t.Fatalf("error without its line: %v", err)
			}
			return
		}
		for _, l := range ls {
			if !l.Address.IsValid() {
				t.Fatalf("invalid address in %+v", l)
			}
		}
	})
}

// LeaseFile10k writes an ISC lease file of 10,000 active leases, each
// with its service's id as remote id, and the services it names.
func LeaseFile10k() ([]byte, map[string]string) {
	var b strings.Builder
	services := map[string]string{}
	for i := range 10000 {
		id := fmt.Sprint(i + 1)
		services[id] = ""
		fmt.Fprintf(&b, "lease 100.%d.%d.%d {\n  starts 4 2026/12/03 10:00:00;\n  ends 5 2030/12/04 10:00:00;\n  binding state active;\n"+
			"  next binding state free;\n  hardware ethernet 02:00:00:%02x:%02x:%02x;\n  option agent.remote-id \"service-%s\";\n  client-hostname \"cpe-%d\";\n}\n",
			64+i/65536, i/256%256, i%256, i/65536, i/256%256, i%256, id, i)
	}
	return []byte(b.String()), services
}

func TestLearn10kLeases(t *testing.T) {
	data, services := LeaseFile10k()
	ls, err := ParseISC(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := Learn(ls, NewMatcher(MatchRemoteID, services), time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)); len(got) != 10000 {
		t.Fatalf("learned %d of 10000", len(got))
	}
}
