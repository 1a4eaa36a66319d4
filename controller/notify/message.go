package notify

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
)

// Message is one email to send.
type Message struct {
	// To is the recipient's address ("alice@example.net" or
	// "Alice <alice@example.net>").
	To      string
	Subject string
	// TextBody is the plain-text body (UTF-8; "\n" or "\r\n" line endings).
	TextBody string
	// Attachments, if any, make the message multipart/mixed.
	Attachments []Attachment
}

// Attachment is a file attached to a [Message].
type Attachment struct {
	// Name is the file name shown to the recipient ("INV-000123.pdf").
	Name string
	// ContentType is the media type ("application/pdf"). Default
	// application/octet-stream.
	ContentType string
	Data        []byte
}

// compose renders m as an RFC 5322 message from from, dated now: UTF-8
// text in quoted-printable, attachments in base64 under multipart/mixed,
// non-ASCII header values as RFC 2047 encoded words and file names as RFC
// 2231 parameters. Errors describe what in m is malformed.
func compose(from, to *mail.Address, m Message, now time.Time) ([]byte, error) {
	var buf bytes.Buffer
	header := func(k, v string) { buf.WriteString(k + ": " + v + "\r\n") }
	header("From", from.String())
	header("To", to.String())
	header("Subject", mime.QEncoding.Encode("utf-8", oneLine(m.Subject)))
	header("Date", now.Format(time.RFC1123Z))
	id, err := messageID(from.Address)
	if err != nil {
		return nil, err
	}
	header("Message-ID", id)
	// An automatic message (RFC 3834): auto-responders should not answer.
	header("Auto-Submitted", "auto-generated")
	header("MIME-Version", "1.0")
	if len(m.Attachments) == 0 {
		header("Content-Type", "text/plain; charset=utf-8")
		header("Content-Transfer-Encoding", "quoted-printable")
		buf.WriteString("\r\n")
		if err := writeQP(&buf, m.TextBody); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}

	mw := multipart.NewWriter(&buf)
	header("Content-Type", mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": mw.Boundary()}))
	buf.WriteString("\r\n")
	w, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {"text/plain; charset=utf-8"},
		"Content-Transfer-Encoding": {"quoted-printable"},
	})
	if err != nil {
		return nil, err
	}
	if err := writeQP(w, m.TextBody); err != nil {
		return nil, err
	}
	for i, a := range m.Attachments {
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		mediaType, params, err := mime.ParseMediaType(ct)
		if err != nil {
			return nil, fmt.Errorf("attachment %d (%q): content type %q: %w", i+1, a.Name, a.ContentType, err)
		}
		name := oneLine(a.Name)
		if name == "" {
			name = fmt.Sprintf("attachment-%d", i+1)
		}
		params["name"] = name
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {mime.FormatMediaType(mediaType, params)},
			"Content-Disposition":       {mime.FormatMediaType("attachment", map[string]string{"filename": name})},
			"Content-Transfer-Encoding": {"base64"},
		})
		if err != nil {
			return nil, err
		}
		if err := writeBase64(w, a.Data); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// oneLine makes s safe for a header: line breaks and tabs become spaces.
func oneLine(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == '\t' {
			return ' '
		}
		return r
	}, s))
}

func writeQP(w io.Writer, text string) error {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	qp := quotedprintable.NewWriter(w) // text mode: "\n" is written as CRLF
	if _, err := qp.Write([]byte(text)); err != nil {
		return err
	}
	return qp.Close()
}

// writeBase64 writes data in base64 lines of 76 characters.
func writeBase64(w io.Writer, data []byte) error {
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 0 {
		n := min(76, len(enc))
		if _, err := w.Write([]byte(enc[:n] + "\r\n")); err != nil {
			return err
		}
		enc = enc[n:]
	}
	return nil
}

// messageID returns a unique Message-ID in the sender's domain.
func messageID(from string) (string, error) {
	domain := "localhost"
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i < len(from)-1 {
		domain = from[i+1:]
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "<" + hex.EncodeToString(b[:]) + "@" + domain + ">", nil
}
