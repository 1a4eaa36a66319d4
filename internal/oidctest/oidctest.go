package oidctest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// User is a person the provider knows.
type User struct {
	// Subject is the sub claim. Default "sub-" + Username.
	Subject             string
	Username, Password  string
	FirstName, LastName string
	Email               string
	EmailVerified       bool
	// IDTokenClaims are added to the user's ID tokens as they are, e.g.
	// "groups": []string{"tollgate-admins"}.
	IDTokenClaims map[string]any
}

// Provider is a running provider with one confidential web client.
type Provider struct {
	// Issuer is the issuer URL, "http://127.0.0.1:<port>/".
	Issuer string
	// ClientID and ClientSecret are the registered client's ("tollgate",
	// "tollgate-secret"); it authenticates with HTTP Basic.
	ClientID, ClientSecret string
}

// users is the provider's user directory (storage.UserStore).
type users map[string]*storage.User

func (u users) GetUserByID(id string) *storage.User { return u[id] }

func (u users) GetUserByUsername(name string) *storage.User {
	for _, x := range u {
		if x.Username == name {
			return x
		}
	}
	return nil
}

func (users) ExampleClientID() string { return storage.ServiceUserID }

// claimStorage is the example storage adding users' IDTokenClaims to
// their ID tokens.
type claimStorage struct {
	*storage.Storage
	extra map[string]map[string]any // by subject
}

func (s claimStorage) SetUserinfoFromRequest(ctx context.Context, ui *oidc.UserInfo, token op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, ui, token, scopes); err != nil {
		return err
	}
	for k, v := range s.extra[token.GetSubject()] {
		ui.AppendClaims(k, v)
	}
	return nil
}

// Start runs a provider until the test ends. Its client accepts the
// given redirect URIs (http ones too).
func Start(t testing.TB, redirectURIs []string, people ...User) *Provider {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	p := &Provider{Issuer: "http://" + srv.Listener.Addr().String() + "/", ClientID: "tollgate", ClientSecret: "tollgate-secret"}
	dir := users{}
	extra := map[string]map[string]any{}
	for _, u := range people {
		if u.Subject == "" {
			u.Subject = "sub-" + u.Username
		}
		if dir[u.Subject] != nil {
			t.Fatalf("oidctest: two users with subject %q", u.Subject)
		}
		dir[u.Subject] = &storage.User{ID: u.Subject, Username: u.Username, Password: u.Password, FirstName: u.FirstName,
			LastName: u.LastName, Email: u.Email, EmailVerified: u.EmailVerified}
		extra[u.Subject] = u.IDTokenClaims
	}
	st := claimStorage{
		Storage: storage.NewStorageWithClients(dir, map[string]*storage.Client{
			p.ClientID: storage.WebClient(p.ClientID, p.ClientSecret, redirectURIs...),
		}),
		extra: extra,
	}
	srv.Config.Handler = exampleop.SetupServer(p.Issuer, st, nil, false)
	srv.Start()
	t.Cleanup(srv.Close)
	return p
}

var loginFormID = regexp.MustCompile(`name="id" value="([^"]+)"`)

// Login submits the provider's login form, as a browser would: page is
// the answer that showed the form (the authorization URL's, after its
// redirects). It returns the answer to the form, which redirects to the
// client's redirect URI with a code on success (whether client follows
// that is up to its CheckRedirect) and shows the form again, with an
// error, on a wrong password.
func (p *Provider) Login(client *http.Client, page *http.Response, username, password string) (*http.Response, error) {
	body, err := io.ReadAll(page.Body)
	page.Body.Close()
	if err != nil {
		return nil, err
	}
	m := loginFormID.FindSubmatch(body)
	if page.StatusCode != http.StatusOK || m == nil {
		return nil, fmt.Errorf("oidctest: %s at %s is not the login form:\n%s", page.Status, page.Request.URL, body)
	}
	return client.PostForm(p.Issuer+"login/username", url.Values{"id": {string(m[1])}, "username": {username}, "password": {password}})
}
