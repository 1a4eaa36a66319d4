// Package agent is the POP agent: it follows its POP's desired state from the
// controller's Enforcement stream, applies every change through the
// enforcement driver named by each service's binding, reads the device back,
// and acknowledges what it applied.
//
// The agent fails static: if the controller is unreachable it keeps what it
// has applied and changes nothing until the stream returns. A snapshot
// received on reconnect is applied as a diff against what is already applied,
// so reconnecting never churns the network.
package agent
