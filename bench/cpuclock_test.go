package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// cpuClock reads the CPU time used so far by this process and by the
// PostgreSQL server it talks to (the postmaster and every process it
// started, running or already reaped), from /proc: on a shared machine a
// benchmark's wall-clock time follows the load, its CPU seconds much less.
// It needs the server on this machine (pgtest's own cluster).
type cpuClock struct{ postmaster int }

// newCPUClock finds the server of pool; an error if it is not a process
// of this machine.
func newCPUClock(ctx context.Context, pool *pgxpool.Pool) (cpuClock, error) {
	var backend int
	if err := pool.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&backend); err != nil {
		return cpuClock{}, err
	}
	st, err := procStat(backend)
	if err != nil {
		return cpuClock{}, err
	}
	return cpuClock{postmaster: st.ppid}, nil
}

// clockTicks is the unit of /proc's CPU times (USER_HZ, 100 on Linux).
const clockTicks = 100

// read returns the CPU time used so far by this process and by the server.
func (c cpuClock) read() (self, server time.Duration, err error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0, err
	}
	self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	pm, err := procStat(c.postmaster)
	if err != nil {
		return 0, 0, err
	}
	ticks := pm.utime + pm.stime + pm.cutime + pm.cstime
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, 0, err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := procStat(pid); err == nil && st.ppid == c.postmaster {
			ticks += st.utime + st.stime
		}
	}
	return self, time.Duration(ticks) * time.Second / clockTicks, nil
}

// stat is what cpuClock reads of /proc/<pid>/stat.
type stat struct {
	ppid                         int
	utime, stime, cutime, cstime int64
}

func procStat(pid int) (stat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return stat{}, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return stat{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3 (state)
	if len(f) < 15 {
		return stat{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	var st stat
	var nums [5]int64
	for k, idx := range []int{1, 11, 12, 13, 14} { // fields 4, 14, 15, 16, 17
		if nums[k], err = strconv.ParseInt(f[idx], 10, 64); err != nil {
			return stat{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
	}
	st.ppid = int(nums[0])
	st.utime, st.stime, st.cutime, st.cstime = nums[1], nums[2], nums[3], nums[4]
	return st, nil
}
