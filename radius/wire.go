package radius

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	rad "layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc2869"
	"layeh.com/radius/rfc3576"
	_ "layeh.com/radius/rfc5176" // Error-Cause names 407 and 508
)

// This file holds the wire format: encoding and signing of the packets
// Tollgate sends (CoA-Request, Disconnect-Request, Accounting-Response) and
// the checks and interpretation of the packets it receives
// (Accounting-Request, CoA/Disconnect ACK and NAK). layeh.com/radius
// frames packets and attributes; it does not compute Message-Authenticator
// (RFC 2869 §5.14, RFC 3579 §3.2, RFC 5176 §3.5), which is done here.

const (
	headerLen = 20
	maLen     = 18 // Message-Authenticator: type, length, 16 octets
)

// Attribute types used here (RFC 2865, 2866, 2869, 5176).
const (
	typeUserName        = byte(rfc2865.UserName_Type)
	typeNASIPAddress    = byte(rfc2865.NASIPAddress_Type)
	typeFramedIPAddress = byte(rfc2865.FramedIPAddress_Type)
	typeFilterID        = byte(rfc2865.FilterID_Type)
	typeVendorSpecific  = byte(rfc2865.VendorSpecific_Type)
	typeNASIdentifier   = byte(rfc2865.NASIdentifier_Type)
	typeAcctStatusType  = byte(rfc2866.AcctStatusType_Type)
	typeAcctSessionID   = byte(rfc2866.AcctSessionID_Type)
	typeEventTimestamp  = byte(rfc2869.EventTimestamp_Type)
	typeMessageAuth     = byte(rfc2869.MessageAuthenticator_Type)
	typeErrorCause      = byte(rfc3576.ErrorCause_Type)
	maxAttrValue        = 253
	acctStatusStart     = uint32(rfc2866.AcctStatusType_Value_Start)
	acctStatusStop      = uint32(rfc2866.AcctStatusType_Value_Stop)
	acctStatusInterim   = uint32(rfc2866.AcctStatusType_Value_InterimUpdate)
	acctStatusAcctOn    = uint32(rfc2866.AcctStatusType_Value_AccountingOn)
	acctStatusAcctOff   = uint32(rfc2866.AcctStatusType_Value_AccountingOff)
)

// Framed-IPv6-Prefix (RFC 3162) and Delegated-IPv6-Prefix (RFC 4818): a
// reserved octet, the prefix length, then the prefix's leading octets.
const (
	typeFramedIPv6Prefix    = 97
	typeDelegatedIPv6Prefix = 123
)

// MaxVSAValue is the longest value of a vendor-specific sub-attribute:
// 253 octets less the vendor id, vendor type and vendor length.
const MaxVSAValue = maxAttrValue - 6

// ErrorCauseSessionNotFound is the Error-Cause of a NAK for a session the
// NAS does not have (Session-Context-Not-Found, RFC 5176 §3.6).
const ErrorCauseSessionNotFound = 503

// Attr is one attribute value as Tollgate reads and writes it: a standard
// attribute (Vendor 0) or a vendor-specific one (RFC 2865 §5.26 format:
// vendor id, vendor type, vendor length). Values are strings: every
// attribute the profiles use is a string on the wire. Tag is the RFC 2868
// tag of a tagged string attribute (ERX-Service-Activate), 0 for none.
type Attr struct {
	Vendor uint32
	Type   byte
	Tag    byte
	Value  string
}

// Encode appends the attribute to attrs in wire format. It fails, adding
// nothing, when the value (with its tag) is longer than the attribute can
// carry: 253 octets, or [MaxVSAValue] for a vendor-specific one.
func (a Attr) Encode(attrs *rad.Attributes) error {
	val := []byte(a.Value)
	if a.Tag != 0 {
		val = append([]byte{a.Tag}, val...)
	}
	if a.Vendor == 0 {
		if len(val) > maxAttrValue {
			return fmt.Errorf("attribute %d: value longer than %d octets", a.Type, maxAttrValue)
		}
		attrs.Add(rad.Type(a.Type), val)
		return nil
	}
	if len(val) > MaxVSAValue {
		return fmt.Errorf("vendor %d attribute %d: value longer than %d octets", a.Vendor, a.Type, MaxVSAValue)
	}
	vsa := make([]byte, 6, 6+len(val))
	binary.BigEndian.PutUint32(vsa, a.Vendor)
	vsa[4] = a.Type
	vsa[5] = byte(2 + len(val))
	attrs.Add(rfc2865.VendorSpecific_Type, append(vsa, val...))
	return nil
}

// parseVSA splits a Vendor-Specific attribute's value into its
// sub-attributes. Vendors with a non-standard layout, or a malformed
// value, give nil and an error: the caller ignores that attribute.
func parseVSA(v []byte) ([]Attr, error) {
	if len(v) < 4 {
		return nil, errors.New("vendor-specific attribute shorter than its vendor id")
	}
	vendor := binary.BigEndian.Uint32(v)
	if vendor == 0 || vendor>>24 != 0 {
		return nil, fmt.Errorf("vendor-specific attribute: invalid vendor id %#x", vendor)
	}
	rest := v[4:]
	var out []Attr
	for len(rest) > 0 {
		if len(rest) < 2 {
			return nil, fmt.Errorf("vendor %d: truncated sub-attribute header", vendor)
		}
		l := int(rest[1])
		if l < 2 || l > len(rest) {
			return nil, fmt.Errorf("vendor %d: sub-attribute %d has invalid length %d", vendor, rest[0], l)
		}
		a := Attr{Vendor: vendor, Type: rest[0], Value: string(rest[2:l])}
		if vendor == VendorJuniperERX && a.Type == erxServiceActivate && len(a.Value) > 0 && a.Value[0] >= 0x01 && a.Value[0] <= 0x1f {
			a.Tag, a.Value = a.Value[0], a.Value[1:]
		}
		out = append(out, a)
		rest = rest[l:]
	}
	return out, nil
}

// request is an encoded request ready to be sent, with what is needed to
// check the answer.
type request struct {
	code rad.Code
	wire []byte
}

func (r *request) id() byte              { return r.wire[1] }
func (r *request) authenticator() []byte { return r.wire[4:headerLen] }

// encodeRequest builds a CoA-Request, Disconnect-Request or
// Accounting-Request with identifier id, the attributes given, and a
// Message-Authenticator, then signs it:
//
//  1. the Request Authenticator field is set to sixteen zero octets and the
//     Message-Authenticator value to sixteen zero octets;
//  2. Message-Authenticator = HMAC-MD5(secret, whole packet) (RFC 3579
//     §3.2 with the zero authenticator these request types use, as RFC 5176
//     §3.5 and FreeRADIUS do);
//  3. Request Authenticator = MD5(Code | Identifier | Length | 16 zero
//     octets | Attributes, Message-Authenticator included | secret)
//     (RFC 2866 §3, RFC 5176 §2.3).
//
// The order matters: the Request Authenticator covers the
// Message-Authenticator, which is computed while the authenticator field is
// still zero.
func encodeRequest(code rad.Code, id byte, secret []byte, attrs rad.Attributes) (*request, error) {
	p := &rad.Packet{Code: code, Identifier: id}
	p.Attributes = make(rad.Attributes, 0, len(attrs)+1)
	for _, a := range attrs {
		if a.Type == rfc2869.MessageAuthenticator_Type {
			continue
		}
		p.Attributes = append(p.Attributes, a)
	}
	p.Add(rfc2869.MessageAuthenticator_Type, make([]byte, 16))
	b, err := p.MarshalBinary()
	if err != nil {
		return nil, err
	}
	sign(b, secret)
	return &request{code: code, wire: b}, nil
}

// sign fills in the Message-Authenticator (the last attribute) and the
// Request Authenticator of an encoded request whose authenticator field
// and Message-Authenticator value are zero. See encodeRequest.
func sign(b, secret []byte) {
	clear(b[4:headerLen])
	ma := b[len(b)-16:]
	clear(ma)
	mac := hmac.New(md5.New, secret)
	mac.Write(b)
	mac.Sum(ma[:0])
	h := md5.New()
	h.Write(b)
	h.Write(secret)
	h.Sum(b[4:4])
}

// encodeResponse builds a response (Accounting-Response) to the request
// header req: same identifier, no attributes, Response Authenticator =
// MD5(Code | Identifier | Length | Request Authenticator | Attributes |
// secret).
func encodeResponse(code rad.Code, req []byte, secret []byte) []byte {
	b := make([]byte, headerLen)
	b[0] = byte(code)
	b[1] = req[1]
	binary.BigEndian.PutUint16(b[2:4], headerLen)
	h := md5.New()
	h.Write(b[:4])
	h.Write(req[4:headerLen])
	h.Write(secret)
	h.Sum(b[4:4])
	return b
}

// frame checks the RADIUS framing of a datagram (RFC 2865 §3: at least 20
// octets, a Length field within 20..4096 that the datagram covers,
// attributes that add up exactly) and returns the packet without padding
// and its attributes.
func frame(b []byte) ([]byte, rad.Attributes, error) {
	if len(b) < headerLen {
		return nil, nil, fmt.Errorf("packet of %d octets is shorter than a RADIUS header", len(b))
	}
	length := int(binary.BigEndian.Uint16(b[2:4]))
	if length < headerLen || length > rad.MaxPacketLength {
		return nil, nil, fmt.Errorf("invalid length field %d", length)
	}
	if len(b) < length {
		return nil, nil, fmt.Errorf("length field %d exceeds the %d octets received", length, len(b))
	}
	b = b[:length]
	attrs, err := rad.ParseAttributes(b[headerLen:])
	if err != nil {
		return nil, nil, fmt.Errorf("attributes: %w", err)
	}
	return b, attrs, nil
}

// checkMessageAuthenticator verifies the Message-Authenticator of packet b
// (attributes attrs), computed with the authenticator field replaced by
// auth. A packet without one passes unless required. More than one, or
// one of the wrong length, fails.
func checkMessageAuthenticator(b []byte, attrs rad.Attributes, auth []byte, secret []byte, required bool) error {
	offset, n := -1, 0
	pos := headerLen
	for _, a := range attrs {
		if a.Type == rfc2869.MessageAuthenticator_Type {
			n++
			if len(a.Attribute) != 16 {
				return errors.New("the Message-Authenticator has the wrong length")
			}
			offset = pos + 2
		}
		pos += 2 + len(a.Attribute)
	}
	switch {
	case n == 0 && required:
		return errors.New("no Message-Authenticator")
	case n == 0:
		return nil
	case n > 1:
		return errors.New("more than one Message-Authenticator")
	}
	tmp := make([]byte, len(b))
	copy(tmp, b)
	copy(tmp[4:headerLen], auth)
	clear(tmp[offset : offset+16])
	mac := hmac.New(md5.New, secret)
	mac.Write(tmp)
	if !hmac.Equal(mac.Sum(nil), b[offset:offset+16]) {
		return errors.New("the Message-Authenticator does not match (wrong shared secret?)")
	}
	return nil
}

var zeroAuth = make([]byte, 16)

// checkRequestAuthenticator verifies the Request Authenticator of an
// Accounting-Request (or CoA/Disconnect-Request): MD5 over the packet
// with a zero authenticator field, then the secret.
func checkRequestAuthenticator(b []byte, secret []byte) error {
	h := md5.New()
	h.Write(b[:4])
	h.Write(zeroAuth)
	h.Write(b[headerLen:])
	h.Write(secret)
	if subtle.ConstantTimeCompare(h.Sum(nil), b[4:headerLen]) != 1 {
		return errors.New("the Request Authenticator does not match (wrong shared secret?)")
	}
	return nil
}

// AccountingRecord is what the agent keeps from an Accounting-Request.
type AccountingRecord struct {
	StatusType    uint32 // Acct-Status-Type: 1 Start, 2 Stop, 3 Interim-Update, 7 Accounting-On, 8 Accounting-Off
	UserName      string
	SessionID     string // Acct-Session-Id
	NASIP         netip.Addr
	NASIdentifier string
	FramedIP      netip.Addr
	EventTime     time.Time // Event-Timestamp; zero when absent

	// FramedIPv6Prefix and DelegatedIPv6Prefix: the session's IPv6 prefix
	// and the prefix delegated to it (zero when absent).
	FramedIPv6Prefix, DelegatedIPv6Prefix netip.Prefix

	// Attrs are the Filter-Id and vendor-specific attributes of the
	// record, which may show the session's enforcement state.
	Attrs []Attr
}

// parseAccountingRequest checks and reads an Accounting-Request: framing,
// code, Request Authenticator and, when present (or required),
// Message-Authenticator. It returns the packet without padding.
func parseAccountingRequest(b []byte, secret []byte, requireMA bool) (AccountingRecord, []byte, error) {
	var rec AccountingRecord
	b, attrs, err := frame(b)
	if err != nil {
		return rec, nil, err
	}
	if code := rad.Code(b[0]); code != rad.CodeAccountingRequest {
		return rec, nil, fmt.Errorf("unexpected %v on the accounting port", code)
	}
	if err := checkRequestAuthenticator(b, secret); err != nil {
		return rec, nil, err
	}
	if err := checkMessageAuthenticator(b, attrs, zeroAuth, secret, requireMA); err != nil {
		return rec, nil, err
	}
	haveStatus := false
	for _, a := range attrs {
		v := a.Attribute
		switch byte(a.Type) {
		case typeAcctStatusType:
			if len(v) != 4 {
				return rec, nil, errors.New("the Acct-Status-Type is not 4 octets")
			}
			rec.StatusType = binary.BigEndian.Uint32(v)
			haveStatus = true
		case typeUserName:
			rec.UserName = string(v)
		case typeAcctSessionID:
			rec.SessionID = string(v)
		case typeNASIdentifier:
			rec.NASIdentifier = string(v)
		case typeNASIPAddress:
			if ip, ok := netip.AddrFromSlice(v); ok && len(v) == 4 {
				rec.NASIP = ip
			}
		case typeFramedIPAddress:
			if ip, ok := netip.AddrFromSlice(v); ok && len(v) == 4 {
				rec.FramedIP = ip
			}
		case typeFramedIPv6Prefix:
			rec.FramedIPv6Prefix = ipv6Prefix(v)
		case typeDelegatedIPv6Prefix:
			rec.DelegatedIPv6Prefix = ipv6Prefix(v)
		case typeEventTimestamp:
			if len(v) == 4 {
				rec.EventTime = time.Unix(int64(binary.BigEndian.Uint32(v)), 0)
			}
		case typeFilterID:
			rec.Attrs = append(rec.Attrs, Attr{Type: typeFilterID, Value: string(v)})
		case typeVendorSpecific:
			if vsas, err := parseVSA(v); err == nil {
				rec.Attrs = append(rec.Attrs, vsas...)
			}
		}
	}
	if !haveStatus {
		return rec, nil, errors.New("no Acct-Status-Type")
	}
	return rec, b, nil
}

// ipv6Prefix reads a Framed-IPv6-Prefix or Delegated-IPv6-Prefix value
// (reserved octet, length 0-128, the prefix's leading octets); the zero
// prefix when it is malformed.
func ipv6Prefix(v []byte) netip.Prefix {
	if len(v) < 2 || len(v) > 18 || v[1] > 128 || int(v[1]) > 8*(len(v)-2) {
		return netip.Prefix{}
	}
	var a [16]byte
	copy(a[:], v[2:])
	return netip.PrefixFrom(netip.AddrFrom16(a), int(v[1])).Masked()
}

// Outcome is how a NAS answered a CoA-Request or Disconnect-Request.
type Outcome struct {
	ACK bool
	// ErrorCause is the NAK's Error-Cause (RFC 5176 §3.6); 0 when absent.
	ErrorCause uint32
}

// parseResponse checks and interprets an answer to req: the code must be
// the request's ACK or NAK, the Response Authenticator must match, and a
// Message-Authenticator, if present, must be valid. RFC 5176 §3.5 computes
// it over the response with the request's authenticator in the
// authenticator field; FreeRADIUS 3 and some NASes compute it with sixteen
// zero octets there, as for the request: both are accepted, since the
// Response Authenticator already binds the answer to the request and the
// secret.
func parseResponse(b []byte, req *request, secret []byte) (Outcome, error) {
	var out Outcome
	b, attrs, err := frame(b)
	if err != nil {
		return out, err
	}
	if b[1] != req.id() {
		return out, fmt.Errorf("identifier %d does not match the request's %d", b[1], req.id())
	}
	code := rad.Code(b[0])
	switch {
	case req.code == rad.CodeCoARequest && code == rad.CodeCoAACK,
		req.code == rad.CodeDisconnectRequest && code == rad.CodeDisconnectACK:
		out.ACK = true
	case req.code == rad.CodeCoARequest && code == rad.CodeCoANAK,
		req.code == rad.CodeDisconnectRequest && code == rad.CodeDisconnectNAK:
	default:
		return out, fmt.Errorf("unexpected %v in answer to a %v", code, req.code)
	}
	h := md5.New()
	h.Write(b[:4])
	h.Write(req.authenticator())
	h.Write(b[headerLen:])
	h.Write(secret)
	if subtle.ConstantTimeCompare(h.Sum(nil), b[4:headerLen]) != 1 {
		return out, errors.New("the Response Authenticator does not match (wrong shared secret?)")
	}
	if err := checkMessageAuthenticator(b, attrs, req.authenticator(), secret, false); err != nil {
		if err2 := checkMessageAuthenticator(b, attrs, zeroAuth, secret, false); err2 != nil {
			return out, err
		}
	}
	for _, a := range attrs {
		if byte(a.Type) == typeErrorCause && len(a.Attribute) == 4 {
			out.ErrorCause = binary.BigEndian.Uint32(a.Attribute)
		}
	}
	return out, nil
}

// ErrorCauseName names an Error-Cause value (RFC 3576 and RFC 5176 §3.6),
// or says it is unknown.
func ErrorCauseName(c uint32) string {
	if s, ok := rfc3576.ErrorCause_Strings[rfc3576.ErrorCause(c)]; ok {
		return s
	}
	return "unknown"
}
