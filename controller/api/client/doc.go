// Package client is a small Go client for the controller's admin API, used by
// tollgatectl and by end-to-end tests.
package client
