// Package webassets holds the front-end files that Tollgate's binaries
// serve — vendored from npm at exact versions, embedded, and checked
// against committed SHA-256 sums — so that no page loads a script,
// stylesheet or font from a CDN: the docs page and the consoles work on a
// network with no way out.
//
// The versions live in npm/package.json and its committed lockfile;
// scripts/vendor-web.sh copies the files into files/ and rewrites
// SHA256SUMS. The same npm project pins the tools `make lint` runs on the
// OpenAPI document (@redocly/cli).
package webassets
