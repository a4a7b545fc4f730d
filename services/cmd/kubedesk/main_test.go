package main

import (
	"flag"
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
	pgtest.Main(m, &pg, settings...)
}
