// Command tollgate-controller runs Tollgate's central controller: billing on
// PostgreSQL, the admin API, and the gRPC service that pushes suspend and
// restore decisions to the agents at each POP.
//
//	tollgate-controller [flags]           serve (the default)
//	tollgate-controller migrate [flags]   apply database migrations and exit
package main
