// Command devdb runs a throwaway PostgreSQL server for demos and
// benchmarks.
//
// It starts a cluster (see package pgcluster), creates a database, prints
// its URL on stdout and then waits for SIGINT or SIGTERM, upon which it
// stops the server and deletes all its files. The server also dies if
// devdb is killed.
//
//	go run ./internal/tools/devdb [-dir DIR] [-db NAME] [-url-file FILE] [-v]
package main
