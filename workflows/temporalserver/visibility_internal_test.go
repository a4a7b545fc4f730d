package temporalserver

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLegacyVisibility(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []string
		want  bool
	}{
		{"new data dir", nil, false},
		{"both files", []string{DatabaseFile, VisibilityDatabaseFile}, false},
		{"made before the visibility file", []string{DatabaseFile}, true},
		{"a start that failed after the visibility file", []string{VisibilityDatabaseFile}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if got := legacyVisibility(dir); got != tc.want {
				t.Errorf("legacyVisibility = %v, want %v", got, tc.want)
			}
		})
	}
	if legacyVisibility("") {
		t.Error(`legacyVisibility("") = true, want false (in memory)`)
	}
}
