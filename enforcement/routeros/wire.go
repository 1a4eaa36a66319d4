package routeros

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/go-routeros/routeros/v3/proto"
)

// Limits on what the driver reads from a router: an address-list entry is
// a few hundred bytes; these only stop a broken peer from making the agent
// allocate gigabytes (the API's length prefix can announce 4 GiB).
const (
	maxReplyWord     = 1 << 20
	maxReplySentence = 4 << 20
)

// appendWord appends a word with its length: 1 byte below 0x80, 2 below
// 0x4000, 3 below 0x200000, 4 below 0x10000000, else 0xF0 and 4 bytes.
func appendWord(dst []byte, w string) []byte {
	n := len(w)
	switch {
	case n < 0x80:
		dst = append(dst, byte(n))
	case n < 0x4000:
		dst = append(dst, byte(n>>8)|0x80, byte(n))
	case n < 0x200000:
		dst = append(dst, byte(n>>16)|0xC0, byte(n>>8), byte(n))
	case n < 0x10000000:
		dst = append(dst, byte(n>>24)|0xE0, byte(n>>16), byte(n>>8), byte(n))
	default:
		dst = append(dst, 0xF0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, w...)
}

var errControlByte = errors.New("reserved control byte in a word length")

// readLength reads an API word length: 0xxxxxxx, 10xxxxxx+1, 110xxxxx+2,
// 1110xxxx+3 or 0xF0+4 bytes, most significant first.
func readLength(r *bufio.Reader) (int, error) {
	b, err := r.ReadByte()
	if err != nil {
		return 0, err
	}
	var n uint32
	extra := 0
	switch {
	case b < 0x80:
		return int(b), nil
	case b < 0xC0:
		n, extra = uint32(b&0x3F), 1
	case b < 0xE0:
		n, extra = uint32(b&0x1F), 2
	case b < 0xF0:
		n, extra = uint32(b&0x0F), 3
	case b == 0xF0:
		extra = 4
	default:
		return 0, fmt.Errorf("%w (0x%02X)", errControlByte, b)
	}
	for range extra {
		c, err := r.ReadByte()
		if err != nil {
			return 0, noEOF(err)
		}
		n = n<<8 | uint32(c)
	}
	return int(n), nil
}

// readReply reads one reply sentence into go-routeros's Sentence: the
// reply word (!re, !done, !trap, !fatal, !empty), .tag, and =key=value
// attributes in List and Map. A bare word (the reason !fatal carries) is
// kept in List with an empty key and, if there is no =message=, as
// Map["message"]. Empty sentences are skipped, as the API asks.
func readReply(r *bufio.Reader) (*proto.Sentence, error) {
	sen := proto.NewSentence()
	total := 0
	for {
		n, err := readLength(r)
		if err != nil {
			if sen.Word != "" {
				err = noEOF(err)
			}
			return nil, err
		}
		if n == 0 {
			if sen.Word == "" {
				continue // an empty sentence
			}
			return sen, nil
		}
		if n > maxReplyWord || total+n > maxReplySentence {
			return nil, fmt.Errorf("reply word of %d bytes is over the limit", n)
		}
		total += n
		buf := make([]byte, n)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, noEOF(err)
		}
		w := string(buf)
		switch {
		case sen.Word == "":
			sen.Word = w
		case strings.HasPrefix(w, ".tag="):
			sen.Tag = w[len(".tag="):]
		case strings.HasPrefix(w, "="):
			k, v, _ := strings.Cut(w[1:], "=")
			sen.List = append(sen.List, proto.Pair{Key: k, Value: v})
			sen.Map[k] = v
		default:
			sen.List = append(sen.List, proto.Pair{Value: w})
			if _, ok := sen.Map["message"]; !ok {
				sen.Map["message"] = w
			}
		}
	}
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
