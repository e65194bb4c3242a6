//go:build !unix

package firewall

func cpuNanos() (int64, bool) { return 0, false }
