package main

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/kubedesk/kubedesk/services/platform/storage/pgtest"
)

// pg is the throwaway PostgreSQL cluster the tests share; each test gets
// its own database.
var pg *pgtest.Cluster

func TestMain(m *testing.M) {
	flag.Parse()
	// Tests trade durability for speed; benchmarks measure what production
	// runs, so they keep PostgreSQL's durable defaults.
	var settings []string
	if flag.Lookup("test.bench").Value.String() == "" {
		settings = pgtest.Fast
	}
	var err error
	if pg, err = pgtest.Start(settings...); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		os.Exit(1)
	}
	code := m.Run()
	if err := pg.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		code = max(code, 1)
	}
	removeBinary()
	os.Exit(code)
}
