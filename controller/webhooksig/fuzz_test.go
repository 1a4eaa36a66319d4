package webhooksig_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/webhooksig"
)

// fuzzSecret is a secret no seed is signed with: a fuzzed header can match it
// only by breaking HMAC-SHA256.
const fuzzSecret = "whsec_fuzz"

// checkParsed holds for anything a parser returns: a result with a
// timestamp, a time and 32-byte signatures, or a rejection (missing or
// malformed) with a message — never a panic, never another kind.
func checkParsed(t *testing.T, s webhooksig.Signed, err error) {
	t.Helper()
	if err != nil {
		var e *webhooksig.Error
		if !errors.As(err, &e) || (e.Kind != webhooksig.ErrMissing && e.Kind != webhooksig.ErrMalformed) {
			t.Fatalf("parse error %v is not ErrMissing or ErrMalformed", err)
		}
		if err.Error() == "" {
			t.Fatal("empty error message")
		}
		return
	}
	if s.Timestamp == "" || len(s.Signatures) == 0 || s.At.IsZero() {
		t.Fatalf("accepted an incomplete header: %+v", s)
	}
	for _, sig := range s.Signatures {
		if len(sig) != sha256.Size {
			t.Fatalf("a %d-byte signature", len(sig))
		}
	}
}

// checkVerify: a fuzzed header never verifies under fuzzSecret, and the same
// timestamp signed properly does verify at its own time.
func checkVerify(t *testing.T, body []byte, s webhooksig.Signed) {
	t.Helper()
	if err := webhooksig.Verify(body, s, []string{fuzzSecret}, s.At, 0); !errors.Is(err, webhooksig.ErrMismatch) {
		t.Fatalf("a fuzzed signature: %v, want ErrMismatch", err)
	}
	s.Signatures = [][]byte{mac(body, fuzzSecret, s.Timestamp)}
	if err := webhooksig.Verify(body, s, []string{"other", fuzzSecret}, s.At, 0); err != nil {
		t.Fatalf("timestamp %q signed properly: %v", s.Timestamp, err)
	}
}

func FuzzParseStripe(f *testing.F) {
	now := time.Unix(1793700000, 0)
	for _, seed := range []string{
		webhooksig.SignStripe([]byte(`{}`), "whsec_x", now),
		webhooksig.SignStripe([]byte(`{}`), "whsec_x", now) + ",v1=" + v1([]byte(`{}`), "whsec_y", now) + ",v0=00",
		"t=1793700000, v1=" + v1([]byte(`{}`), "k", now),
		"", " ", "garbage", "t=", "v1=", "t=1,t=2", "t=1,v1=zz", "t=-9223372036854775808,v1=" + v1(nil, "k", now),
		"t=99999999999999999999,v1=00", ",,,", "t=1,,v1=00", "=", "t==1", "t=1\x00,v1=ff", "t=+1,v1=" + v1(nil, "k", now),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		s, err := webhooksig.ParseStripe(header)
		checkParsed(t, s, err)
		if err == nil {
			checkVerify(t, []byte(header), s)
			again, err := webhooksig.ParseStripe("t=" + s.Timestamp + ",v1=" + hex.EncodeToString(s.Signatures[0]))
			if err != nil || again.Timestamp != s.Timestamp || !again.At.Equal(s.At) {
				t.Fatalf("re-parsing the parts of %q: %+v, %v", header, again, err)
			}
		}
	})
}

func FuzzParseLob(f *testing.F) {
	now := time.UnixMilli(1793700000123)
	sig, ts := webhooksig.SignLob([]byte(`{}`), "k", now)
	for _, seed := range [][2]string{
		{sig, ts}, {sig, "1793700000"}, {" " + sig, ts + " "}, {"", ""}, {sig, ""}, {"", ts},
		{"zz", ts}, {sig[:10], ts}, {sig, "0"}, {sig, "-1"}, {sig, "9223372036854775807"}, {sig, "1e9"}, {sig + "00", ts},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, signature, timestamp string) {
		s, err := webhooksig.ParseLob(signature, timestamp)
		checkParsed(t, s, err)
		if err == nil {
			if len(s.Signatures) != 1 {
				t.Fatalf("Lob carries one signature, parsed %d", len(s.Signatures))
			}
			checkVerify(t, []byte(signature), s)
		}
	})
}
