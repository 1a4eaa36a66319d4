package api

import (
	"net/http"

	"github.com/tollgate-isp/tollgate/internal/webassets"
)

// docsPath is where the API reference is served; its viewer's files are
// under docsPath + "/assets/".
const docsPath = "/api/v1/docs"

// docsCSP allows the reference page nothing from another origin: its
// script is the vendored Redoc, its document the API's own. Redoc styles
// through injected <style> elements and searches in a worker it makes from
// a blob.
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; worker-src blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// docsPage is the API reference: Redoc, served from the binary, reading
// the OpenAPI document. It works offline (nothing comes from a CDN).
const docsPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tollgate admin API</title>
<link rel="icon" href="data:,">
</head>
<body>
<redoc spec-url="/api/v1/openapi.json" hide-download-button="false"></redoc>
<noscript><p>The API reference needs JavaScript. The OpenAPI document itself is at <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (and <a href="/api/v1/openapi.yaml">.yaml</a>).</p></noscript>
<script src="` + docsPath + `/assets/` + webassets.Redoc + `"></script>
</body>
</html>
`

// registerDocs serves the API reference page and its vendored viewer,
// without authentication (the OpenAPI document is public too).
func registerDocs(mux *http.ServeMux) {
	mux.HandleFunc("GET "+docsPath, func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", docsCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		_, _ = w.Write([]byte(docsPage))
	})
	mux.Handle("GET "+docsPath+"/assets/", http.StripPrefix(docsPath+"/assets/", webassets.Handler()))
}
