//go:build unix

package iam

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

// BenchmarkHashPassword measures one hash with the default parameters and
// some neighbours. Besides the wall time it reports cpu-ms/op, the
// process's CPU time per hash (both lanes), which a busy machine inflates
// far less than wall time: on an idle 2-core machine a hash takes between
// cpu/threads and cpu of wall time.
//
// Measured on the 2-core AMD EPYC dev machine while other builds ran
// (load average 7 to 22): m=64MiB,t=2,p=2: 107-127 cpu-ms, 167-294 ms
// wall; m=64MiB,t=3,p=2: 140 cpu-ms, 154-420 ms wall; m=64MiB,t=1,p=2:
// 47-51 cpu-ms, 53-128 ms wall. DefaultArgon2 is t=2: 55-125 ms of wall
// time on an idle 2-core machine.
func BenchmarkHashPassword(b *testing.B) {
	for _, p := range []Argon2Config{
		DefaultArgon2,
		{MemoryKiB: 64 * 1024, Iterations: 3, Threads: 2},
		{MemoryKiB: 64 * 1024, Iterations: 1, Threads: 2},
		{MemoryKiB: 32 * 1024, Iterations: 2, Threads: 2},
	} {
		b.Run(fmt.Sprintf("m=%dKiB,t=%d,p=%d", p.MemoryKiB, p.Iterations, p.Threads), func(b *testing.B) {
			c0 := cpuTime()
			for b.Loop() {
				if _, err := HashPassword("correct horse battery staple", p); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-c0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
		})
	}
}

func cpuTime() time.Duration {
	var r syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r); err != nil {
		return 0
	}
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}
