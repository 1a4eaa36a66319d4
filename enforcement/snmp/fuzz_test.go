package snmp

import (
	"encoding/hex"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/gosnmp/gosnmp"

	"github.com/tollgate-isp/tollgate/enforcement"
)

// Fuzz tests for everything that interprets device input: responses to our
// GET and SET (raw datagrams through gosnmp's decoder, and packets built
// field by field), the USM reports we decode ourselves, and device addresses.

// mustMarshal encodes a v2c response for seeds.
func mustMarshal(t testing.TB, pkt *gosnmp.SnmpPacket) []byte {
	t.Helper()
	pkt.Version = gosnmp.Version2c
	pkt.Community = "public"
	pkt.RequestID = 12345
	b, err := pkt.MarshalMsg()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeV2C decodes a datagram as gosnmp does a v2c response. gosnmp's
// request path recovers from panics of its decoder; so does this.
func decodeV2C(raw []byte) (pkt *gosnmp.SnmpPacket, err error) {
	defer func() {
		if r := recover(); r != nil {
			pkt, err = nil, errors.New("gosnmp decoder panicked")
		}
	}()
	return (&gosnmp.GoSNMP{Version: gosnmp.Version2c}).SnmpDecodePacket(raw)
}

// checkInterpretation checks what stateFromGetResponse and checkSetResponse
// make of pkt against the packet itself.
func checkInterpretation(t *testing.T, pkt *gosnmp.SnmpPacket, ifIndex int32) {
	state, err := stateFromGetResponse(pkt, ifIndex)
	setDownErr := checkSetResponse(pkt, ifIndex, AdminDown)
	setUpErr := checkSetResponse(pkt, ifIndex, AdminUp)

	wellFormed := pkt != nil && pkt.PDUType == gosnmp.GetResponse && pkt.Error == gosnmp.NoError &&
		len(pkt.Variables) == 1 && strings.TrimPrefix(pkt.Variables[0].Name, ".") == adminStatusOID(ifIndex) &&
		pkt.Variables[0].Type == gosnmp.Integer
	var value int64
	if wellFormed {
		var verr error
		value, verr = adminStatus(pkt.Variables[0], adminStatusOID(ifIndex))
		wellFormed = verr == nil
	}
	if err == nil {
		want := map[int64]enforcement.State{AdminUp: enforcement.Active, AdminDown: enforcement.Suspended}[value]
		if want == "" || state != want {
			t.Fatalf("state %q without error from %+v", state, pkt)
		}
	} else {
		if state != "" {
			t.Fatalf("state %q with error %v", state, err)
		}
		if wellFormed && (value == AdminUp || value == AdminDown) {
			t.Fatalf("error %v for a good response %+v", err, pkt)
		}
		if wellFormed && !strings.Contains(err.Error(), strconv.FormatInt(value, 10)) {
			t.Fatalf("error %q does not name the value %d", err, value)
		}
	}
	if (setDownErr == nil) != (wellFormed && value == AdminDown) {
		t.Fatalf("set down: %v for %+v", setDownErr, pkt)
	}
	if (setUpErr == nil) != (wellFormed && value == AdminUp) {
		t.Fatalf("set up: %v for %+v", setUpErr, pkt)
	}
	for _, e := range []error{err, setDownErr, setUpErr} {
		if e != nil && len(e.Error()) > 600 {
			t.Fatalf("error of %d bytes: device input is not bounded in errors", len(e.Error()))
		}
	}
}

func FuzzResponseDatagram(f *testing.F) {
	oid := "." + adminStatusOID(7)
	for _, p := range []*gosnmp.SnmpPacket{
		{PDUType: gosnmp.GetResponse, Variables: []gosnmp.SnmpPDU{{Name: oid, Type: gosnmp.Integer, Value: 1}}},
		{PDUType: gosnmp.GetResponse, Variables: []gosnmp.SnmpPDU{{Name: oid, Type: gosnmp.Integer, Value: 2}}},
		{PDUType: gosnmp.GetResponse, Variables: []gosnmp.SnmpPDU{{Name: oid, Type: gosnmp.Integer, Value: 3}}},
		{PDUType: gosnmp.GetResponse, Variables: []gosnmp.SnmpPDU{{Name: oid, Type: gosnmp.NoSuchInstance}}},
		{PDUType: gosnmp.GetResponse, Variables: []gosnmp.SnmpPDU{{Name: oid, Type: gosnmp.OctetString, Value: []byte("down")}}},
		{PDUType: gosnmp.GetResponse, Error: gosnmp.NoCreation, ErrorIndex: 1, Variables: []gosnmp.SnmpPDU{{Name: oid, Type: gosnmp.Integer, Value: 2}}},
		{PDUType: gosnmp.GetResponse, Error: gosnmp.GenErr, ErrorIndex: 4, Variables: []gosnmp.SnmpPDU{{Name: oid, Type: gosnmp.Integer, Value: 2}}},
		{PDUType: gosnmp.Report, Variables: []gosnmp.SnmpPDU{{Name: oid, Type: gosnmp.Integer, Value: 1}}},
		{PDUType: gosnmp.GetResponse, Variables: []gosnmp.SnmpPDU{{Name: oid, Type: gosnmp.Counter64, Value: uint64(1)}}},
		{PDUType: gosnmp.GetResponse, Variables: []gosnmp.SnmpPDU{{Name: oid, Type: gosnmp.Integer, Value: 1}, {Name: oid, Type: gosnmp.Integer, Value: 2}}},
	} {
		f.Add(mustMarshal(f, p), int32(7))
	}
	f.Fuzz(func(t *testing.T, raw []byte, ifIndex int32) {
		if ifIndex < 1 {
			ifIndex = 7
		}
		pkt, err := decodeV2C(raw)
		if err != nil {
			return
		}
		checkInterpretation(t, pkt, ifIndex)
	})
}

func FuzzResponseFields(f *testing.F) {
	oid := "." + adminStatusOID(7)
	f.Add(uint8(gosnmp.GetResponse), uint8(0), uint8(0), oid, uint8(gosnmp.Integer), int64(1), uint8(1), int32(7))
	f.Add(uint8(gosnmp.GetResponse), uint8(0), uint8(0), oid, uint8(gosnmp.Integer), int64(2), uint8(1), int32(7))
	f.Add(uint8(gosnmp.GetResponse), uint8(0), uint8(0), oid, uint8(gosnmp.Integer), int64(3), uint8(1), int32(7))
	f.Add(uint8(gosnmp.GetResponse), uint8(17), uint8(1), oid, uint8(gosnmp.Integer), int64(2), uint8(1), int32(7))
	f.Add(uint8(gosnmp.GetResponse), uint8(200), uint8(3), oid, uint8(gosnmp.Integer), int64(2), uint8(1), int32(7))
	f.Add(uint8(gosnmp.GetResponse), uint8(0), uint8(0), oid, uint8(gosnmp.NoSuchObject), int64(0), uint8(1), int32(7))
	f.Add(uint8(gosnmp.GetResponse), uint8(0), uint8(0), "1.3.6.1.2.1.2.2.1.7.70", uint8(gosnmp.Integer), int64(1), uint8(1), int32(7))
	f.Add(uint8(gosnmp.Report), uint8(0), uint8(0), oid, uint8(gosnmp.Integer), int64(1), uint8(0), int32(7))
	f.Fuzz(func(t *testing.T, pdu, status, index uint8, name string, typ uint8, value int64, nvars uint8, ifIndex int32) {
		if ifIndex < 1 {
			ifIndex = 1
		}
		var v any = value
		switch value % 4 {
		case 0:
			v = int(value)
		case 1:
			v = []byte(name)
		case 2:
			v = nil
		}
		pkt := &gosnmp.SnmpPacket{PDUType: gosnmp.PDUType(pdu), Error: gosnmp.SNMPError(status), ErrorIndex: index}
		for range nvars % 4 {
			pkt.Variables = append(pkt.Variables, gosnmp.SnmpPDU{Name: name, Type: gosnmp.Asn1BER(typ), Value: v})
		}
		checkInterpretation(t, pkt, ifIndex)
		if pkt.Error != gosnmp.NoError && pkt.PDUType == gosnmp.GetResponse {
			_, err := stateFromGetResponse(pkt, ifIndex)
			var se *StatusError
			if !errors.As(err, &se) || se.Status != pkt.Error {
				t.Fatalf("error-status %d became %v", pkt.Error, err)
			}
			if !strings.Contains(err.Error(), statusName(pkt.Error)) {
				t.Fatalf("%q does not name the error-status", err)
			}
		}
	})
}

// A usmStatsWrongDigests report as net-snmp 5.9 sent it to a request with a
// wrong auth password.
const wrongDigestReport = "30760201033011020433af2cef020300ffe304010002010304293027041180001f888019862052b738066b000000000201010201010408746f6c6c67617465040004003033041180001f888019862052b738066b000000000400a81c0201000201000201003011300f060a2b060106030f01010500410101"

func TestUSMReport(t *testing.T) {
	t.Parallel()
	raw, _ := hex.DecodeString(wrongDigestReport)
	if err := usmReport(raw); !errors.Is(err, gosnmp.ErrWrongDigest) {
		t.Errorf("wrong digest report: %v", err)
	}
	// The same with usmStatsUnknownUserNames (.3.0).
	raw[len(raw)-5] = 3
	if err := usmReport(raw); !errors.Is(err, gosnmp.ErrUnknownUsername) {
		t.Errorf("unknown user report: %v", err)
	}
	// An authenticated message is not one of these reports.
	raw[20] |= byte(gosnmp.AuthNoPriv)
	if err := usmReport(raw); err != nil {
		t.Errorf("authenticated: %v", err)
	}
	if err := usmReport(nil); err != nil {
		t.Errorf("nil: %v", err)
	}
}

func FuzzUSMReport(f *testing.F) {
	raw, _ := hex.DecodeString(wrongDigestReport)
	f.Add(raw)
	for _, i := range []byte{1, 2, 3, 4, 6, 9} {
		r := append([]byte(nil), raw...)
		r[len(r)-5] = i
		f.Add(r)
	}
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x03})
	f.Fuzz(func(t *testing.T, raw []byte) {
		err := usmReport(raw)
		if err == nil {
			return
		}
		for _, known := range usmReports {
			if err == known {
				return
			}
		}
		t.Fatalf("usmReport returned %v, not one of the USM report errors", err)
	})
}

func FuzzSplitAddress(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "192.0.2.1:1161", "sw1.example", "[2001:db8::1]:161", "2001:db8::1", "[::1]", ":1", "a:b:c", "[x]:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		host, port, err := splitAddress(s)
		if err != nil {
			return
		}
		if host == "" || port == 0 {
			t.Fatalf("%q: host %q port %d without error", s, host, port)
		}
		// What we accept, net.JoinHostPort/SplitHostPort round-trips.
		h, p, err := net.SplitHostPort(net.JoinHostPort(host, strconv.Itoa(int(port))))
		if err != nil || h != host || p != strconv.Itoa(int(port)) {
			t.Fatalf("%q: %q %d does not round-trip: %q %q %v", s, host, port, h, p, err)
		}
	})
}
