// Package e2e holds end-to-end tests that build and run the real
// tollgate-controller, tollgate-agent and tollgatectl binaries against a
// throwaway PostgreSQL, talking over loopback.
package e2e
