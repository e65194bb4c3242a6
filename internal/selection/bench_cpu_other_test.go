//go:build !unix

package selection

func cpuNanos() (int64, bool) { return 0, false }
