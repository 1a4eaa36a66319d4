// Package app wires the controller's parts together: configuration,
// database and migrations, the admin API, the portal, the agents' push
// service, the job runner, metrics and health endpoints, and graceful
// shutdown. It is the composition root: with cmd/tollgate-controller it is
// the only production package that imports controller/postgres, and it
// hands the one store to every port the API, portal, push service and jobs
// declare (internal/archtest holds that rule). cmd/tollgate-controller is a
// thin main around it; tests start a controller in-process through it too.
package app
