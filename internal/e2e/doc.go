// Package e2e holds end-to-end tests that build and run the real
// tollgate-controller, tollgate-agent and tollgatectl binaries against a
// throwaway PostgreSQL, talking over loopback. The staff console's tests
// drive headless Chromium through the harness in consoleharness_test.go
// (startConsole, addStaff, newBrowser, signIn, checkPage: axe-core and a
// 1280×800 screenshot per page state).
package e2e
