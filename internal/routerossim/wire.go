package routerossim

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// Word lengths, as the RouterOS API encodes them before every word (most
// significant byte first):
//
//	0x00–0x7F            1 byte   0xxxxxxx
//	0x80–0x3FFF          2 bytes  10xxxxxx + 1 byte
//	0x4000–0x1FFFFF      3 bytes  110xxxxx + 2 bytes
//	0x200000–0xFFFFFFF   4 bytes  1110xxxx + 3 bytes
//	0x10000000 and up    5 bytes  0xF0 + 4 bytes
//
// A first byte of 0xF8 or more is a reserved control byte: the stream cannot
// be interpreted past it. The server writes the shortest form; it reads any
// form, including longer-than-needed ones (0xF0 followed by a small length).

// ErrControlByte is returned for a word length starting with a reserved
// control byte (0xF8–0xFF).
var ErrControlByte = errors.New("routerossim: reserved control byte in word length")

// ErrTooLong is returned for a word or sentence over the configured limit.
var ErrTooLong = errors.New("routerossim: word or sentence too long")

// AppendLength appends the shortest encoding of a word length n (0 ≤ n <
// 2^32) to dst.
func AppendLength(dst []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(dst, byte(n))
	case n < 0x4000:
		return append(dst, byte(n>>8)|0x80, byte(n))
	case n < 0x200000:
		return append(dst, byte(n>>16)|0xC0, byte(n>>8), byte(n))
	case n < 0x10000000:
		return append(dst, byte(n>>24)|0xE0, byte(n>>16), byte(n>>8), byte(n))
	default:
		return append(dst, 0xF0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// AppendWord appends one length-prefixed word to dst.
func AppendWord(dst []byte, w string) []byte {
	return append(AppendLength(dst, len(w)), w...)
}

// AppendSentence appends words and the terminating empty word to dst.
func AppendSentence(dst []byte, words ...string) []byte {
	for _, w := range words {
		dst = AppendWord(dst, w)
	}
	return append(dst, 0)
}

// readLength reads one encoded word length.
func readLength(r *bufio.Reader) (int, error) {
	b, err := r.ReadByte()
	if err != nil {
		return 0, err
	}
	var extra int
	var n uint32
	switch {
	case b&0x80 == 0x00:
		return int(b), nil
	case b&0xC0 == 0x80:
		extra, n = 1, uint32(b&0x3F)
	case b&0xE0 == 0xC0:
		extra, n = 2, uint32(b&0x1F)
	case b&0xF0 == 0xE0:
		extra, n = 3, uint32(b&0x0F)
	case b == 0xF0:
		extra, n = 4, 0
	default:
		return 0, fmt.Errorf("%w 0x%02X", ErrControlByte, b)
	}
	for range extra {
		c, err := r.ReadByte()
		if err != nil {
			return 0, unexpectedEOF(err)
		}
		n = n<<8 | uint32(c)
	}
	return int(n), nil
}

// readWord reads one word of at most max bytes.
func readWord(r *bufio.Reader, max int) (string, error) {
	n, err := readLength(r)
	if err != nil {
		return "", err
	}
	if n > max {
		return "", fmt.Errorf("%w: word of %d bytes (limit %d)", ErrTooLong, n, max)
	}
	if n == 0 {
		return "", nil
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return "", unexpectedEOF(err)
	}
	return string(buf), nil
}

// ReadSentence reads words up to the terminating empty word. maxWord bounds
// a single word and maxSentence the sum of a sentence's word lengths; a
// sentence with no word at all (a lone empty word) comes back empty, and the
// API says to ignore it.
func ReadSentence(r *bufio.Reader, maxWord, maxSentence int) ([]string, error) {
	var words []string
	total := 0
	for {
		w, err := readWord(r, min(maxWord, maxSentence-total))
		if err != nil {
			if len(words) > 0 {
				err = unexpectedEOF(err)
			}
			return nil, err
		}
		if w == "" {
			return words, nil
		}
		total += len(w)
		words = append(words, w)
	}
}

func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
