package app

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/tollgate-isp/tollgate/controller/payments"
)

// defaultSandboxListen is payments.sandbox.listen's default.
const defaultSandboxListen = "127.0.0.1:8091"

// paymentElement opens the sandbox's browser origin (when the in-process
// sandbox is the gateway) and says whose fields the portal and the console
// show: the sandbox's iframe from that origin, or Stripe's Payment Element.
func (c *Controller) paymentElement(gw payments.Gateway) (payments.Element, error) {
	p := c.cfg.Payments
	switch sb := gw.(type) {
	case *payments.Stripe:
		if p.Stripe.PublishableKey == "" {
			c.log.Warn("payments.stripe.publishable_key is not set: the portal and the console cannot take new cards")
			return payments.Element{}, nil
		}
		if !strings.HasPrefix(p.Stripe.PublishableKey, "pk_") {
			return payments.Element{}, errors.New("payments.stripe.publishable_key must be a publishable key (pk_…)")
		}
		return payments.Element{Gateway: "stripe", PublishableKey: p.Stripe.PublishableKey}, nil
	case *payments.SandboxClient:
		if p.Sandbox.PublicURL == "" {
			c.log.Warn("payments.sandbox.url is set without payments.sandbox.public_url: new cards cannot be entered in the browser")
			return payments.Element{}, nil
		}
		return payments.Element{Gateway: "sandbox", Origin: payments.OriginOf(p.Sandbox.PublicURL)}, nil
	case *payments.Sandbox:
		listen := p.Sandbox.Listen
		if listen == "off" {
			return payments.Element{}, nil
		}
		ln, err := net.Listen("tcp", orDefault(listen, defaultSandboxListen))
		if err != nil && listen == "" {
			c.log.Warn("payments.sandbox.listen: the default address is taken; the sandbox's browser origin uses another port", "default", defaultSandboxListen, "err", err)
			ln, err = net.Listen("tcp", "127.0.0.1:0")
		}
		if err != nil {
			return payments.Element{}, fmt.Errorf("payments.sandbox.listen: %w", err)
		}
		public := p.Sandbox.PublicURL
		if public == "" {
			public = "http://" + ln.Addr().String()
		}
		origin := payments.OriginOf(public)
		if origin == "" {
			ln.Close()
			return payments.Element{}, fmt.Errorf("payments.sandbox.public_url %q is not an http(s) URL", public)
		}
		sb.SetElementsURL(origin)
		var allowed []string
		for _, u := range []string{c.cfg.Portal.PublicURL, c.cfg.Console.PublicURL} {
			if o := payments.OriginOf(u); o != "" {
				allowed = append(allowed, o)
			}
		}
		c.sandboxLn = ln
		c.sandboxHTTP = &http.Server{Handler: sb.ElementsHandler(payments.ElementsOptions{AllowedOrigins: allowed}), ReadHeaderTimeout: 10 * time.Second}
		c.log.Info("sandbox gateway's browser origin (card fields, 3-D Secure test page)", "url", origin, "listen", ln.Addr().String())
		return payments.Element{Gateway: "sandbox", Origin: origin}, nil
	}
	return payments.Element{}, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
