package radius

import "slices"

// Vendor dictionaries: the vendor-specific attributes (RFC 2865 §5.26)
// Tollgate sends to, and reads from, the NASes it supports. The numbers
// are those of FreeRADIUS's dictionary.mikrotik, dictionary.cisco and
// dictionary.erx.

// Vendor ids (SMI Network Management Private Enterprise Codes).
const (
	VendorCisco      = 9
	VendorJuniperERX = 4874
	VendorMikrotik   = 14988
)

// Vendor attribute types.
const (
	ciscoAVPair          = 1
	ciscoAccountInfo     = 250
	mikrotikRateLimit    = 8
	mikrotikAddressList  = 19
	erxServiceActivate   = 65
	erxServiceDeactivate = 66
)

// dictionary maps the FreeRADIUS names of the attributes Tollgate may send
// (in a CoA-Request or an authorize reply) or read (in accounting) to
// their wire identity. ERX-Service-Activate is a tagged attribute; tag 1
// is the one Juniper's examples use.
var dictionary = map[string]Attr{
	"Filter-Id":              {Type: typeFilterID},
	"Mikrotik-Rate-Limit":    {Vendor: VendorMikrotik, Type: mikrotikRateLimit},
	"Mikrotik-Address-List":  {Vendor: VendorMikrotik, Type: mikrotikAddressList},
	"Cisco-AVPair":           {Vendor: VendorCisco, Type: ciscoAVPair},
	"Cisco-Account-Info":     {Vendor: VendorCisco, Type: ciscoAccountInfo},
	"ERX-Service-Activate":   {Vendor: VendorJuniperERX, Type: erxServiceActivate, Tag: 1},
	"ERX-Service-Deactivate": {Vendor: VendorJuniperERX, Type: erxServiceDeactivate},
}

// Lookup returns the attribute called name (its FreeRADIUS dictionary
// name) with an empty value; ok is false for a name not in the
// dictionary.
func Lookup(name string) (a Attr, ok bool) {
	a, ok = dictionary[name]
	return a, ok
}

// AttrName returns the dictionary name of a (by vendor and type), or ""
// when it has none.
func AttrName(a Attr) string {
	for name, d := range dictionary {
		if d.Vendor == a.Vendor && d.Type == a.Type {
			return name
		}
	}
	return ""
}

// Named returns the attribute called name with value v. A name not in the
// dictionary gives an attribute of type 0, which no NAS accepts: callers
// pass names from this package's dictionary ([DictionaryNames]), or check
// them first with [Lookup].
func Named(name, v string) Attr {
	a := dictionary[name]
	a.Value = v
	return a
}

// DictionaryNames returns the dictionary's attribute names, sorted.
func DictionaryNames() []string {
	var names []string
	for n := range dictionary {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// SameAttr says whether a and b are the same attribute (vendor and type),
// whatever their values.
func SameAttr(a, b Attr) bool { return a.Vendor == b.Vendor && a.Type == b.Type }
