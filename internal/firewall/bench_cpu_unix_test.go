//go:build unix

package firewall

import "syscall"

// cpuNanos is the process's CPU time (user + system), for a benchmark
// metric that a machine shared with other work does not inflate as much
// as wall time.
func cpuNanos() (int64, bool) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, false
	}
	return ru.Utime.Nano() + ru.Stime.Nano(), true
}
