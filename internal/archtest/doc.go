// Package archtest holds no code, only tests that keep the architecture's
// rules true: which package may import which (checked with `go list
// -deps`, so a rule holds for everything a package pulls in, not just its
// own imports), that the enforcement outbox has one writer, and that the
// ports of the API, portal, push, jobs and domain core stay small (at most
// 12 methods) with a doc comment on every method.
package archtest
