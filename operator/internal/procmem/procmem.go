// Package procmem reads a Linux process's memory figures, for the
// operator's benchmarks.
package procmem

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Status reads the lines of /proc/<pid>/status counted in kB (VmRSS,
// RssAnon, RssFile, VmHWM, ...), in bytes. pid "self" is this process.
func Status(pid string) (map[string]int64, error) {
	path := "/proc/" + pid + "/status"
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]int64{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		key, v, ok := strings.Cut(s.Text(), ":")
		v = strings.TrimSpace(v)
		if !ok || !strings.HasSuffix(v, " kB") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, key, err)
		}
		out[key] = kb << 10
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if out["VmRSS"] == 0 {
		return nil, fmt.Errorf("%s: no VmRSS", path)
	}
	return out, nil
}
