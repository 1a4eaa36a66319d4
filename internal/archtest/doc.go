// Package archtest holds no code, only tests that keep the architecture's
// rules true: which package may import which (checked with `go list
// -deps`, so a rule holds for everything a package pulls in, not just its
// own imports), that only the composition root (controller/app,
// cmd/tollgate-controller) imports the store, that controller/jobs asks
// River's client and never names River's tables, that ports are small
// interfaces whose methods say their errors, that the enforcement outbox
// has one writer, and that the CLI stays thin.
package archtest
