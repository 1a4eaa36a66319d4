package payments

import (
	"os/exec"
	"syscall"
)

// setPdeathsig makes the kernel kill stripe-mock if the test binary dies
// without reaching TestMain's cleanup (a panic, a timeout, ^C).
func setPdeathsig(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
