// Package archtest holds no code, only tests that keep the architecture's
// rules true: which package may import which (checked with `go list
// -deps`, so a rule holds for everything a package pulls in, not just its
// own imports) and that the enforcement outbox has one writer.
package archtest
