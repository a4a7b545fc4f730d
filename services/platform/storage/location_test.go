package storage

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLocate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "data")
	for _, tc := range []struct {
		name, url, dir     string
		wantPG, wantSQLite string
		wantErr            string
	}{
		{name: "postgres", url: "postgres://u@db/k", wantPG: "postgres://u@db/k"},
		{name: "postgresql", url: "postgresql://u@db/k", dir: dir, wantPG: "postgresql://u@db/k"},
		{name: "sqlite in a new directory", dir: dir, wantSQLite: filepath.Join(dir, "x.db")},
		{name: "other scheme, password hidden", url: "mysql://u:secret@db/k", wantErr: `database URL "mysql://u:xxxxx@db/k": unsupported scheme`},
		{name: "nothing", wantErr: "data directory: is empty; name a directory for x.db"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pg, path, err := Locate(tc.url, tc.dir, "x.db")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Locate = %v, want an error containing %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("the error shows the password: %v", err)
				}
				return
			}
			if err != nil || pg != tc.wantPG || path != tc.wantSQLite {
				t.Fatalf("Locate = %q, %q, %v; want %q, %q", pg, path, err, tc.wantPG, tc.wantSQLite)
			}
			if path != "" {
				if _, err := os.Stat(filepath.Dir(path)); err != nil {
					t.Errorf("data directory not created: %v", err)
				}
			}
		})
	}
}

func TestOpenPicksTheEngine(t *testing.T) {
	dir := t.TempDir()
	opener := func(engine string) func(context.Context, string) (string, error) {
		return func(_ context.Context, location string) (string, error) { return engine + " " + location, nil }
	}
	tests := []struct {
		url, want, wantErr string
	}{
		{url: "postgres://kd@db/kd", want: "postgres postgres://kd@db/kd"},
		{url: "", want: "sqlite " + filepath.Join(dir, "routing.db")},
		{url: "mysql://kd:secret@db/kd", wantErr: `database URL "mysql://kd:xxxxx@db/kd": unsupported scheme`},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, err := Open(t.Context(), tt.url, dir, "routing.db", opener("postgres"), opener("sqlite"))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Open = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
