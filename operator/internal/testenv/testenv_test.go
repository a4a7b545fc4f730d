package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBinDirTellsHowToBuildMissingBinaries(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("KUBEBUILDER_ASSETS", dir)
	if err := os.WriteFile(filepath.Join(dir, "etcd"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := binDir("/repo")
	if err == nil {
		t.Fatal("binDir found kube-apiserver in an empty directory")
	}
	for _, want := range []string{"[kube-apiserver]", dir, "KUBEBUILDER_ASSETS", "hack/install-envtest-binaries.sh bin/k8s"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestBinDirDefaultsToRepoBinK8s(t *testing.T) {
	t.Setenv("KUBEBUILDER_ASSETS", "")
	root := t.TempDir()
	bin := filepath.Join(root, "bin", "k8s")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"kube-apiserver", "etcd"} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	got, err := binDir(root)
	if err != nil || got != bin {
		t.Errorf("binDir(%s) = %q, %v; want %q", root, got, err, bin)
	}
}

func TestRepoRootHoldsGoWork(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "operator", "config", "crd", "bases")); err != nil {
		t.Errorf("repoRoot() = %s, which has no operator/config/crd/bases: %v", root, err)
	}
}

func TestTailKeepsTheLastWholeLines(t *testing.T) {
	tl := &tail{max: 16}
	for _, s := range []string{"first line\n", "second\n", "third\n"} {
		if _, err := tl.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if got := tl.String(); got != "second\nthird\n" {
		t.Errorf("String() = %q, want %q", got, "second\nthird\n")
	}
}
