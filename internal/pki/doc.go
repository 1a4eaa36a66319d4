// Package pki is Tollgate's small certificate authority for the
// controller↔agent gRPC link (mutual TLS).
//
// One CA ("Tollgate agents CA", ECDSA P-256, ten years by default) signs
//
//   - the controller's server certificate (ExtKeyUsageServerAuth, with the
//     DNS names and IP addresses agents dial), and
//   - one client certificate per agent (ExtKeyUsageClientAuth), whose
//     identity names the agent's POP twice: as the URI SAN
//     tollgate://pop/<pop>, which is authoritative, and as the subject
//     common name "pop:<pop>", for people reading the certificate.
//
// The controller trusts the CA for client certificates and serves an agent
// only the POP its certificate names ([PopFromCert]). tollgatectl's
// "pki init" and "agent enroll" commands are the front end (flags and
// output); this package does the cryptography, lays out the directories
// ([InitDir], [RenewController], [Enroll], [ParseValidity] for their
// lifetimes) and writes the PEM files (private keys with mode 0600).
package pki
