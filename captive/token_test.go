package captive

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestMintVerify(t *testing.T) {
	master := bytes.Repeat([]byte{7}, 32)
	k := DeriveKey(master, "north-tower-1")
	other := DeriveKey(master, "downtown-pop")
	if k.ID == other.ID || bytes.Equal(k.Secret, other.Secret) {
		t.Fatal("two POPs derived the same key")
	}
	now := time.Unix(1_800_000_000, 0)
	tok, err := Mint(k, 42, now.Add(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Verify(tok, now, other, k)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if c.ServiceID != 42 || c.POP != "north-tower-1" || !c.Expires.Equal(now.Add(10*time.Minute)) {
		t.Fatalf("claims = %+v", c)
	}
	tok2, _ := Mint(k, 42, now.Add(10*time.Minute))
	if tok == tok2 {
		t.Fatal("two tokens for the same service are equal (no nonce)")
	}

	cases := []struct {
		name  string
		token string
		at    time.Time
		keys  []Key
		want  error
	}{
		{"expired", tok, now.Add(10 * time.Minute), []Key{k}, ErrExpired},
		{"other POP's key only", tok, now, []Key{other}, ErrUnknownKey},
		{"rotated away", tok, now, []Key{DeriveKey(bytes.Repeat([]byte{8}, 32), "north-tower-1")}, ErrUnknownKey},
		{"tampered payload", tamper(tok, 3), now, []Key{k}, ErrMalformed},
		{"tampered mac", tok[:len(tok)-2] + flip(tok[len(tok)-2:]), now, []Key{k}, ErrSignature},
		{"empty", "", now, []Key{k}, ErrMalformed},
		{"no dot", "abc", now, []Key{k}, ErrMalformed},
		{"huge", strings.Repeat("a", 10000), now, []Key{k}, ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(tc.token, tc.at, tc.keys...)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// A token whose payload names another service but keeps the original MAC
// must fail the signature check.
func TestVerifyRejectsSwappedService(t *testing.T) {
	k := DeriveKey(bytes.Repeat([]byte{1}, 32), "p1")
	now := time.Unix(1_800_000_000, 0)
	a, _ := Mint(k, 1, now.Add(time.Minute))
	b, _ := Mint(k, 2, now.Add(time.Minute))
	pa, _, _ := strings.Cut(a, ".")
	_, mb, _ := strings.Cut(b, ".")
	if _, err := Verify(pa+"."+mb, now, k); !errors.Is(err, ErrSignature) {
		t.Fatalf("err = %v, want ErrSignature", err)
	}
}

func tamper(tok string, i int) string {
	b := []byte(tok)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func flip(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

func FuzzVerify(f *testing.F) {
	k := DeriveKey(bytes.Repeat([]byte{3}, 32), "p")
	now := time.Unix(1_800_000_000, 0)
	tok, _ := Mint(k, 9, now.Add(time.Minute))
	f.Add(tok)
	f.Add("")
	f.Add("djF8eHx5fDF8Mnwz.AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Verify(s, now, k)
		if err == nil && (c.ServiceID <= 0 || c.POP != "p") {
			t.Fatalf("accepted %q with claims %+v", s, c)
		}
	})
}

// A token may live at most MaxLifetime (plus ClockSkew for an agent whose
// clock runs ahead), whoever signed it.
func TestVerifyRefusesLongLivedTokens(t *testing.T) {
	k := DeriveKey(bytes.Repeat([]byte{3}, 32), "p1")
	now := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		name string
		life time.Duration
		want error
	}{
		{"ten minutes", 10 * time.Minute, nil},
		{"ten minutes from a clock 60 s ahead", 11 * time.Minute, nil},
		{"one second too long", 11*time.Minute + time.Second, ErrLifetime},
		{"ten years", 10 * 365 * 24 * time.Hour, ErrLifetime},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := Mint(k, 7, now.Add(tc.life))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Verify(tok, now, k); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// Every token has its own ID (for single use), the same for every parse.
func TestClaimsID(t *testing.T) {
	k := DeriveKey(bytes.Repeat([]byte{4}, 32), "p1")
	now := time.Unix(1_800_000_000, 0)
	a, _ := Mint(k, 7, now.Add(time.Minute))
	b, _ := Mint(k, 7, now.Add(time.Minute))
	ca, err := Verify(a, now, k)
	if err != nil {
		t.Fatal(err)
	}
	ca2, _ := Parse(a)
	cb, _ := Verify(b, now, k)
	if len(ca.ID) != 64 || ca.ID != ca2.ID || ca.ID == cb.ID {
		t.Fatalf("ids %q %q %q: want 64 hex digits, stable per token, distinct between tokens", ca.ID, ca2.ID, cb.ID)
	}
}
