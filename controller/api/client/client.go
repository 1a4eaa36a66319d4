package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Client calls the admin API at BaseURL with a bearer token.
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
}

// New returns a client for the API at baseURL.
func New(baseURL, token string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Token: token, HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// Problem is an error response from the API (RFC 9457).
type Problem struct {
	Status int    `json:"status"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Errors []struct {
		Message  string `json:"message"`
		Location string `json:"location"`
		Value    any    `json:"value"`
	} `json:"errors"`
}

func (p *Problem) Error() string {
	msg := fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail)
	for _, e := range p.Errors {
		msg += fmt.Sprintf("\n  - %s", e.Message)
		if e.Location != "" {
			msg += " (" + e.Location + ")"
		}
	}
	return msg
}

// NewIdempotencyKey returns a random key for one logical change.
func NewIdempotencyKey() string {
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	// Base32, not hex: no long digit runs that could pass for a card number.
	return strings.ToLower(base32.StdEncoding.EncodeToString(b))
}

// Do sends a request with an optional JSON body and decodes a JSON answer
// into out (if non-nil). Mutating methods need idemKey.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, idemKey string, body, out any) error {
	var raw []byte
	contentType := ""
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return err
		}
		contentType = "application/json"
	}
	return c.send(ctx, c.HTTP, method, path, query, idemKey, contentType, raw, out)
}

// send performs one request through hc and decodes the answer: a JSON body
// into out, an error status into a *Problem.
func (c *Client) send(ctx context.Context, hc *http.Client, method, path string, query url.Values, idemKey, contentType string, body []byte, out any) error {
	u := c.BaseURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader = http.NoBody
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if _, file := out.(*[]byte); !file {
		req.Header.Set("Accept", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	for k, v := range requestHeaders(ctx) {
		req.Header[k] = v
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 400 {
		p := &Problem{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode)}
		if json.Unmarshal(data, p) != nil || p.Detail == "" {
			p.Detail = strings.TrimSpace(string(data))
		}
		return p
	}
	if file, ok := out.(*[]byte); ok {
		*file = data
		return nil
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("decode %s %s response: %w", method, path, err)
		}
	}
	return nil
}

// GetFile GETs a file the API serves (a PDF, a CSV) as it is. Errors: the
// API's as a *Problem, or the transport's.
func (c *Client) GetFile(ctx context.Context, path string, query url.Values) ([]byte, error) {
	var data []byte
	err := c.send(ctx, c.HTTP, http.MethodGet, path, query, "", "", nil, &data)
	return data, err
}

// CreateService creates a service.
func (c *Client) CreateService(ctx context.Context, idemKey string, in billing.NewService) (billing.Service, error) {
	var s billing.Service
	err := c.Do(ctx, http.MethodPost, "/api/v1/services", nil, idemKey, in, &s)
	return s, err
}

// Service fetches one service.
func (c *Client) Service(ctx context.Context, id int64) (billing.Service, error) {
	var s billing.Service
	err := c.Do(ctx, http.MethodGet, "/api/v1/services/"+strconv.FormatInt(id, 10), nil, "", nil, &s)
	return s, err
}

// ServicePage is one page of services.
type ServicePage struct {
	Items     []billing.Service `json:"items"`
	NextAfter int64             `json:"next_after"`
}

// Services lists one page of services.
func (c *Client) Services(ctx context.Context, f billing.ServiceFilter) (ServicePage, error) {
	q := url.Values{}
	if f.POP != "" {
		q.Set("pop", f.POP)
	}
	if f.State != "" {
		q.Set("state", string(f.State))
	}
	if f.AfterID > 0 {
		q.Set("after", strconv.FormatInt(f.AfterID, 10))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var p ServicePage
	err := c.Do(ctx, http.MethodGet, "/api/v1/services", q, "", nil, &p)
	return p, err
}

// DesiredStateResult is the answer to SetDesiredState.
type DesiredStateResult struct {
	Service billing.Service `json:"service"`
	Changed bool            `json:"changed"`
}

// SetDesiredState suspends or restores a service.
func (c *Client) SetDesiredState(ctx context.Context, idemKey string, id int64, state billing.DesiredState, reason string) (DesiredStateResult, error) {
	var r DesiredStateResult
	body := map[string]string{"state": string(state)}
	if reason != "" {
		body["reason"] = reason
	}
	err := c.Do(ctx, http.MethodPost, "/api/v1/services/"+strconv.FormatInt(id, 10)+"/desired-state", nil, idemKey, body, &r)
	return r, err
}
