package snmp

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/gosnmp/gosnmp"

	"github.com/tollgate-isp/tollgate/enforcement"
)

// IF-MIB::ifAdminStatus and its values.
const (
	// IfAdminStatusOID is IF-MIB::ifAdminStatus; the instance is
	// IfAdminStatusOID + "." + ifIndex.
	IfAdminStatusOID = "1.3.6.1.2.1.2.2.1.7"

	AdminUp      = 1 // up(1): the service is active
	AdminDown    = 2 // down(2): the service is suspended
	AdminTesting = 3 // testing(3): neither, an error
)

// adminStatusOID is the ifAdminStatus instance of ifIndex.
func adminStatusOID(ifIndex int32) string {
	return IfAdminStatusOID + "." + strconv.FormatInt(int64(ifIndex), 10)
}

// ErrNoSuchInterface is wrapped by errors saying the device has no
// ifAdminStatus for the ifIndex (noSuchObject, noSuchInstance, noSuchName,
// noCreation): the binding names an interface the device does not have.
var ErrNoSuchInterface = errors.New("the device has no such interface")

// StatusError is an SNMP error-status (RFC 3416) the device answered with.
type StatusError struct {
	Status gosnmp.SNMPError
	// OID is the variable the error-index points at, when it points at one.
	OID string
}

func (e *StatusError) Error() string {
	s := "device answered " + statusName(e.Status)
	if e.OID != "" {
		s += " for " + e.OID
	}
	if why := statusMeaning[e.Status]; why != "" {
		s += " (" + why + ")"
	}
	return s
}

// Unwrap makes the statuses that mean "no such interface" match
// [ErrNoSuchInterface].
func (e *StatusError) Unwrap() error {
	switch e.Status {
	case gosnmp.NoSuchName, gosnmp.NoCreation:
		return ErrNoSuchInterface
	}
	return nil
}

// statusNames are RFC 3416's names of the error-status values.
var statusNames = [...]string{
	"noError", "tooBig", "noSuchName", "badValue", "readOnly", "genErr",
	"noAccess", "wrongType", "wrongLength", "wrongEncoding", "wrongValue",
	"noCreation", "inconsistentValue", "resourceUnavailable", "commitFailed",
	"undoFailed", "authorizationError", "notWritable", "inconsistentName",
}

var statusMeaning = map[gosnmp.SNMPError]string{
	gosnmp.TooBig:              "the response would be too large",
	gosnmp.NoSuchName:          "no such interface, or the object is not readable or writable with these credentials",
	gosnmp.BadValue:            "the device refused the value",
	gosnmp.ReadOnly:            "the object is read-only",
	gosnmp.GenErr:              "the device failed to carry out the request",
	gosnmp.NoAccess:            "these credentials may not write ifAdminStatus; check the community's or user's write view",
	gosnmp.WrongType:           "the device expects another type",
	gosnmp.WrongLength:         "the device expects another length",
	gosnmp.WrongEncoding:       "the device could not decode the value",
	gosnmp.WrongValue:          "the device refused the value",
	gosnmp.NoCreation:          "no such interface",
	gosnmp.InconsistentValue:   "the device cannot take this value now",
	gosnmp.ResourceUnavailable: "the device lacks a resource to carry out the request",
	gosnmp.CommitFailed:        "the device failed to commit the change",
	gosnmp.UndoFailed:          "the device failed to commit the change and to undo it",
	gosnmp.AuthorizationError:  "these credentials are not authorized for this request",
	gosnmp.NotWritable:         "ifAdminStatus is not writable on this device or for these credentials",
	gosnmp.InconsistentName:    "the device cannot create this object now",
}

// statusName is RFC 3416's name of an error-status, with its number.
func statusName(s gosnmp.SNMPError) string {
	if int(s) < len(statusNames) {
		return fmt.Sprintf("%s(%d)", statusNames[s], s)
	}
	return fmt.Sprintf("unknown error-status %d", s)
}

// checkResponse is what a GET and a SET response have in common: a
// Response PDU without an error-status, one variable binding, for oid.
func checkResponse(pkt *gosnmp.SnmpPacket, oid string) (gosnmp.SnmpPDU, error) {
	if pkt == nil {
		return gosnmp.SnmpPDU{}, errors.New("no response")
	}
	if pkt.PDUType != gosnmp.GetResponse {
		return gosnmp.SnmpPDU{}, fmt.Errorf("device answered with a %s PDU, not a Response", pduName(pkt.PDUType))
	}
	if pkt.Error != gosnmp.NoError {
		se := &StatusError{Status: pkt.Error}
		// error-index is 1-based; 0 means no particular variable.
		if i := int(pkt.ErrorIndex); i >= 1 && i <= len(pkt.Variables) {
			se.OID = safeOID(trimDot(pkt.Variables[i-1].Name))
		} else if i >= 1 {
			se.OID = oid
		}
		return gosnmp.SnmpPDU{}, se
	}
	if len(pkt.Variables) != 1 {
		return gosnmp.SnmpPDU{}, fmt.Errorf("device answered with %d variable bindings, want 1 (%s)", len(pkt.Variables), oid)
	}
	v := pkt.Variables[0]
	if got := trimDot(v.Name); got != oid {
		return gosnmp.SnmpPDU{}, fmt.Errorf("device answered for %s, not for the requested %s", safeOID(got), oid)
	}
	switch v.Type {
	case gosnmp.NoSuchObject, gosnmp.NoSuchInstance:
		return gosnmp.SnmpPDU{}, fmt.Errorf("%w: %s for %s", ErrNoSuchInterface, exceptionName(v.Type), oid)
	case gosnmp.EndOfMibView:
		return gosnmp.SnmpPDU{}, fmt.Errorf("device answered endOfMibView for %s", oid)
	}
	return v, nil
}

// adminStatus reads an ifAdminStatus value out of a variable binding.
func adminStatus(v gosnmp.SnmpPDU, oid string) (int64, error) {
	if v.Type != gosnmp.Integer {
		return 0, fmt.Errorf("device answered %s for %s, want an INTEGER (ifAdminStatus)", typeName(v.Type), oid)
	}
	switch n := v.Value.(type) {
	case int:
		return int64(n), nil
	case int64:
		return n, nil
	case int32:
		return int64(n), nil
	case *big.Int:
		if n != nil && n.IsInt64() {
			return n.Int64(), nil
		}
	}
	return 0, fmt.Errorf("device answered an INTEGER for %s that could not be decoded (%T)", oid, v.Value)
}

// stateFromGetResponse interprets the response to a GET of
// ifAdminStatus.ifIndex: up(1) is active, down(2) suspended; anything else
// (testing(3), an unknown value, another type, an exception, an
// error-status, a binding for another OID) is an error naming what the device
// answered.
func stateFromGetResponse(pkt *gosnmp.SnmpPacket, ifIndex int32) (enforcement.State, error) {
	oid := adminStatusOID(ifIndex)
	v, err := checkResponse(pkt, oid)
	if err != nil {
		return "", err
	}
	n, err := adminStatus(v, oid)
	if err != nil {
		return "", err
	}
	switch n {
	case AdminUp:
		return enforcement.Active, nil
	case AdminDown:
		return enforcement.Suspended, nil
	case AdminTesting:
		return "", fmt.Errorf("ifAdminStatus is testing(3), neither up(1) nor down(2)")
	}
	return "", fmt.Errorf("ifAdminStatus has value %d, neither up(1) nor down(2)", n)
}

// checkSetResponse interprets the response to a SET of ifAdminStatus.ifIndex
// to want: nil when the device took it, an error naming the error-status or
// what else is wrong otherwise. A device echoes the value it set; an echo of
// another value is an error.
func checkSetResponse(pkt *gosnmp.SnmpPacket, ifIndex int32, want int) error {
	oid := adminStatusOID(ifIndex)
	v, err := checkResponse(pkt, oid)
	if err != nil {
		return err
	}
	n, err := adminStatus(v, oid)
	if err != nil {
		return err
	}
	if n != int64(want) {
		return fmt.Errorf("device answered the set of ifAdminStatus to %d with %d", want, n)
	}
	return nil
}

func trimDot(oid string) string { return strings.TrimPrefix(oid, ".") }

// safeOID is an OID from the device as it may go into an error: as it is
// if it looks like one and is not too long, quoted and cut short otherwise.
func safeOID(s string) string {
	if len(s) <= 128 && s != "" && strings.Trim(s, "0123456789.") == "" {
		return s
	}
	return printable(s)
}

// printable keeps device-supplied text short and free of control characters
// before it goes into an error.
func printable(s string) string {
	const max = 80
	if len(s) > max {
		return strconv.Quote(s[:max]) + "…"
	}
	return strconv.Quote(s)
}

func exceptionName(t gosnmp.Asn1BER) string {
	switch t {
	case gosnmp.NoSuchObject:
		return "noSuchObject"
	case gosnmp.NoSuchInstance:
		return "noSuchInstance"
	case gosnmp.EndOfMibView:
		return "endOfMibView"
	}
	return typeName(t)
}

func typeName(t gosnmp.Asn1BER) string {
	switch t {
	case gosnmp.Integer:
		return "INTEGER"
	case gosnmp.OctetString:
		return "OCTET STRING"
	case gosnmp.Null:
		return "NULL"
	case gosnmp.ObjectIdentifier:
		return "OBJECT IDENTIFIER"
	case gosnmp.IPAddress:
		return "IpAddress"
	case gosnmp.Counter32:
		return "Counter32"
	case gosnmp.Gauge32:
		return "Gauge32"
	case gosnmp.TimeTicks:
		return "TimeTicks"
	case gosnmp.Opaque:
		return "Opaque"
	case gosnmp.Counter64:
		return "Counter64"
	case gosnmp.NoSuchObject, gosnmp.NoSuchInstance, gosnmp.EndOfMibView:
		return exceptionName(t)
	}
	return fmt.Sprintf("type 0x%02x", byte(t))
}

func pduName(t gosnmp.PDUType) string {
	switch t {
	case gosnmp.GetRequest:
		return "GetRequest"
	case gosnmp.GetNextRequest:
		return "GetNextRequest"
	case gosnmp.GetResponse:
		return "Response"
	case gosnmp.SetRequest:
		return "SetRequest"
	case gosnmp.Trap:
		return "Trap"
	case gosnmp.GetBulkRequest:
		return "GetBulkRequest"
	case gosnmp.InformRequest:
		return "InformRequest"
	case gosnmp.SNMPv2Trap:
		return "SNMPv2-Trap"
	case gosnmp.Report:
		return "Report"
	}
	return fmt.Sprintf("type 0x%02x", byte(t))
}

// USM statistics (RFC 3414) that an SNMPv3 agent reports instead of
// answering, and the gosnmp errors they stand for.
var usmReports = map[string]error{
	"1.3.6.1.6.3.15.1.1.1.0": gosnmp.ErrUnknownSecurityLevel, // usmStatsUnsupportedSecLevels
	"1.3.6.1.6.3.15.1.1.2.0": gosnmp.ErrNotInTimeWindow,      // usmStatsNotInTimeWindows
	"1.3.6.1.6.3.15.1.1.3.0": gosnmp.ErrUnknownUsername,      // usmStatsUnknownUserNames
	"1.3.6.1.6.3.15.1.1.4.0": gosnmp.ErrUnknownEngineID,      // usmStatsUnknownEngineIDs
	"1.3.6.1.6.3.15.1.1.5.0": gosnmp.ErrWrongDigest,          // usmStatsWrongDigests
	"1.3.6.1.6.3.15.1.1.6.0": gosnmp.ErrDecryption,           // usmStatsDecryptionErrors
}

// usmReport decodes raw, a datagram that gosnmp discarded as not authentic,
// as the unauthenticated Report an SNMPv3 agent sends when it refuses a
// request (RFC 3414 3.2: a wrong digest, an unknown user...) and returns the
// gosnmp error that the reported counter stands for, or nil if raw is not
// such a report.
func usmReport(raw []byte) (err error) {
	defer func() {
		if recover() != nil { // gosnmp's decoder on hostile input
			err = nil
		}
	}()
	dec := &gosnmp.GoSNMP{
		Version:            gosnmp.Version3,
		SecurityModel:      gosnmp.UserSecurityModel,
		MsgFlags:           gosnmp.NoAuthNoPriv,
		SecurityParameters: &gosnmp.UsmSecurityParameters{UserName: "report"}, // required, not checked
	}
	pkt, derr := dec.SnmpDecodePacket(raw)
	if derr != nil || pkt == nil || pkt.Version != gosnmp.Version3 || pkt.PDUType != gosnmp.Report ||
		pkt.MsgFlags&gosnmp.AuthNoPriv != 0 || len(pkt.Variables) < 1 {
		return nil
	}
	return usmReports[trimDot(pkt.Variables[0].Name)]
}
