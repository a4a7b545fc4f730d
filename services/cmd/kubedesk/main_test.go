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
		settings = []string{"fsync=off", "synchronous_commit=off", "full_page_writes=off"}
	}
	var err error
	pg, err = pgtest.Start(settings...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting PostgreSQL for the tests:", err)
		os.Exit(1)
	}
	code := m.Run()
	pg.Stop()
	os.Exit(code)
}
