package main

import (
	"runtime/debug"
	"testing"
)

func TestSetEmbeddedGCPercent(t *testing.T) {
	const runtimeSet = 77 // a value no case sets
	tests := []struct {
		name    string
		gogc    string
		applied bool
		percent int
	}{
		{name: "unset", gogc: "", applied: true, percent: embeddedGCPercent},
		{name: "a number", gogc: "80", applied: false, percent: runtimeSet},
		{name: "off", gogc: "off", applied: false, percent: runtimeSet},
	}
	before := debug.SetGCPercent(runtimeSet)
	t.Cleanup(func() { debug.SetGCPercent(before) })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Stands for what the runtime took from GOGC at start.
			debug.SetGCPercent(runtimeSet)
			getenv := func(k string) string {
				if k == "GOGC" {
					return tt.gogc
				}
				return ""
			}
			if got := setEmbeddedGCPercent(getenv); got != tt.applied {
				t.Errorf("setEmbeddedGCPercent() = %v, want %v", got, tt.applied)
			}
			if got := debug.SetGCPercent(runtimeSet); got != tt.percent {
				t.Errorf("GC percent = %d, want %d", got, tt.percent)
			}
		})
	}
}
