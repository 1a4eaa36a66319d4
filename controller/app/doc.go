// Package app wires the controller's parts together: configuration,
// database and migrations, the admin API, the agents' push service, metrics
// and health endpoints, and graceful shutdown. cmd/tollgate-controller is a
// thin main around it; tests start a controller in-process through it too.
package app
