package console

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/staff"
)

// inProcess is an http.RoundTripper that serves requests with a handler
// in this process: the console's calls to the admin API never leave it.
type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	w := &bufferedResponse{header: http.Header{}}
	t.h.ServeHTTP(w, r)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return &http.Response{
		Status: http.StatusText(w.status), StatusCode: w.status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: w.header, Body: io.NopCloser(&w.body), ContentLength: int64(w.body.Len()), Request: r,
	}, nil
}

// bufferedResponse is an http.ResponseWriter that keeps the response in
// memory.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *bufferedResponse) Header() http.Header { return w.header }

func (w *bufferedResponse) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *bufferedResponse) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}

// apiFor returns the admin API client and the context to call it with as
// the signed-in user u: the API sees u's role and records user:<login>.
func (s *Server) apiFor(ctx context.Context, u staff.User) (*client.Client, context.Context) {
	return s.api, s.asStaff(ctx, u)
}

func newAPIClient(h http.Handler) *client.Client {
	return &client.Client{BaseURL: "http://tollgate.in-process", HTTP: &http.Client{Transport: inProcess{h: h}}}
}
