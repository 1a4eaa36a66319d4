package sso

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"time"
)

// flowData is what the browser carries between Start and Finish, sealed:
// the state and nonce sent to the provider, the PKCE verifier whose
// challenge was sent, where to go afterwards and until when it is good.
type flowData struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	ReturnTo string `json:"r"`
	Expires  int64  `json:"e"` // Unix seconds
}

// MinKeyLen is the least length of the key that seals flow states.
const MinKeyLen = 32

// sealer seals and opens flow states with AES-256-GCM. The key is derived
// from the key handed to New (so the same secret may serve other uses of
// the console without the two ever meeting), and the sealed text is bound
// to the issuer, client and redirect URL (additional data): a flow state
// from another SSO configuration does not open.
type sealer struct {
	aead cipher.AEAD
	ad   []byte
}

func newSealer(key []byte, issuer, clientID, redirectURL string) (sealer, error) {
	if len(key) < MinKeyLen {
		return sealer{}, errors.New("sso: the flow state key must be at least 32 bytes")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("tollgate sso flow state v1"))
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		return sealer{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return sealer{}, err
	}
	return sealer{aead: aead, ad: []byte(issuer + "\x00" + clientID + "\x00" + redirectURL)}, nil
}

// seal returns fs sealed, base64url (fit for a cookie).
func (s sealer) seal(fs flowData, rand io.Reader) (string, error) {
	plain, err := json.Marshal(fs)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := io.ReadFull(rand, nonce); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, s.ad)), nil
}

// Reasons a flow state does not open.
var (
	errFlowStateMissing = errors.New("the sign-in's flow state is missing (cookies off, or a callback this browser did not start)")
	errFlowStateInvalid = errors.New("the sign-in's flow state is not valid (altered, or from another configuration)")
	errFlowStateExpired = errors.New("the sign-in took too long")
)

// open opens a sealed flow state, refusing one that is altered, from
// another configuration or key, or expired at now.
func (s sealer) open(sealed string, now time.Time) (flowData, error) {
	var fs flowData
	if sealed == "" {
		return fs, errFlowStateMissing
	}
	b, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(b) < s.aead.NonceSize() {
		return fs, errFlowStateInvalid
	}
	plain, err := s.aead.Open(nil, b[:s.aead.NonceSize()], b[s.aead.NonceSize():], s.ad)
	if err != nil || json.Unmarshal(plain, &fs) != nil || fs.State == "" || fs.Nonce == "" || fs.Verifier == "" {
		return flowData{}, errFlowStateInvalid
	}
	if !now.Before(time.Unix(fs.Expires, 0)) {
		return flowData{}, errFlowStateExpired
	}
	return fs, nil
}
