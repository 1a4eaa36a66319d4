//go:build !linux

package payments

import "os/exec"

func setPdeathsig(*exec.Cmd) {}
