package routerossim

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestAppendLengthUsesTheShortestForm(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want []byte
	}{
		{0, []byte{0x00}},
		{1, []byte{0x01}},
		{0x7F, []byte{0x7F}},
		{0x80, []byte{0x80, 0x80}},
		{0x87, []byte{0x80, 0x87}},
		{0x3FFF, []byte{0xBF, 0xFF}},
		{0x4000, []byte{0xC0, 0x40, 0x00}},
		{0x4321, []byte{0xC0, 0x43, 0x21}},
		{0x1FFFFF, []byte{0xDF, 0xFF, 0xFF}},
		{0x200000, []byte{0xE0, 0x20, 0x00, 0x00}},
		{0x2ACDEF, []byte{0xE0, 0x2A, 0xCD, 0xEF}},
		{0xFFFFFFF, []byte{0xEF, 0xFF, 0xFF, 0xFF}},
		{0x10000000, []byte{0xF0, 0x10, 0x00, 0x00, 0x00}},
		{0x10000080, []byte{0xF0, 0x10, 0x00, 0x00, 0x80}},
		{0xFFFFFFFF, []byte{0xF0, 0xFF, 0xFF, 0xFF, 0xFF}},
	} {
		if got := AppendLength(nil, tc.n); !bytes.Equal(got, tc.want) {
			t.Errorf("AppendLength(%#x) = % X, want % X", tc.n, got, tc.want)
		}
		got, err := readLength(bufio.NewReader(bytes.NewReader(tc.want)))
		if err != nil || got != tc.n {
			t.Errorf("readLength(% X) = %#x, %v; want %#x", tc.want, got, err, tc.n)
		}
	}
}

func TestReadLengthAcceptsLongerForms(t *testing.T) {
	for _, raw := range [][]byte{
		{0x05},
		{0x80, 0x05},
		{0xC0, 0x00, 0x05},
		{0xE0, 0x00, 0x00, 0x05},
		{0xF0, 0x00, 0x00, 0x00, 0x05},
	} {
		n, err := readLength(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil || n != 5 {
			t.Errorf("readLength(% X) = %d, %v; want 5", raw, n, err)
		}
	}
}

func TestReadLengthRejectsControlBytes(t *testing.T) {
	for b := 0xF8; b <= 0xFF; b++ {
		_, err := readLength(bufio.NewReader(bytes.NewReader([]byte{byte(b), 0, 0, 0, 0})))
		if !errors.Is(err, ErrControlByte) {
			t.Errorf("first byte %#x: err %v, want ErrControlByte", b, err)
		}
	}
	for b := 0xF1; b <= 0xF7; b++ {
		_, err := readLength(bufio.NewReader(bytes.NewReader([]byte{byte(b), 0, 0, 0, 0})))
		if !errors.Is(err, ErrControlByte) {
			t.Errorf("first byte %#x: err %v, want an error (only 0xF0 starts a 5-byte length)", b, err)
		}
	}
}

func TestReadSentence(t *testing.T) {
	raw := AppendSentence(nil, "/ip/firewall/address-list/print", "?list=a", ".tag=7")
	raw = append(raw, 0) // an empty sentence
	raw = AppendSentence(raw, "/quit")
	r := bufio.NewReader(bytes.NewReader(raw))
	for _, want := range [][]string{{"/ip/firewall/address-list/print", "?list=a", ".tag=7"}, nil, {"/quit"}} {
		got, err := ReadSentence(r, 1<<10, 1<<10)
		if err != nil || strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("ReadSentence = %q, %v; want %q", got, err, want)
		}
	}
	if _, err := ReadSentence(r, 1<<10, 1<<10); err != io.EOF {
		t.Fatalf("at the end: %v, want io.EOF", err)
	}
	// Cut short inside a sentence.
	if _, err := ReadSentence(bufio.NewReader(bytes.NewReader(raw[:10])), 1<<10, 1<<10); err != io.ErrUnexpectedEOF {
		t.Fatalf("truncated: %v, want io.ErrUnexpectedEOF", err)
	}
	// Limits: a word announcing 4 GiB is refused before anything is read.
	huge := []byte{0xF0, 0xFF, 0xFF, 0xFF, 0xFF}
	if _, err := ReadSentence(bufio.NewReader(bytes.NewReader(huge)), 1<<20, 1<<30); !errors.Is(err, ErrTooLong) {
		t.Fatalf("4 GiB word: %v, want ErrTooLong", err)
	}
	long := AppendSentence(nil, strings.Repeat("a", 600), strings.Repeat("b", 600))
	if _, err := ReadSentence(bufio.NewReader(bytes.NewReader(long)), 1<<10, 1<<10); !errors.Is(err, ErrTooLong) {
		t.Fatalf("sentence over the limit: %v, want ErrTooLong", err)
	}
}
