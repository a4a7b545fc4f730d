package iam_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/kubedesk/kubedesk/services/iam"
	"github.com/kubedesk/kubedesk/services/iam/store"
	"github.com/kubedesk/kubedesk/services/platform/storage/pgtest"
)

// cluster is the PostgreSQL server TestOnPostgreSQL runs the tests on.
var cluster *pgtest.Cluster

func TestMain(m *testing.M) { pgtest.Main(m, &cluster, pgtest.Fast...) }

// onPostgres switches openStore to PostgreSQL; TestOnPostgreSQL sets it
// while it reruns the package's tests (none of them runs in parallel).
var onPostgres bool

// openStore opens a fresh identity store: SQLite, or PostgreSQL under
// TestOnPostgreSQL.
func openStore(t *testing.T) iam.Store {
	t.Helper()
	ctx := context.Background()
	var (
		st  iam.Store
		err error
	)
	if onPostgres {
		st, err = store.OpenPostgres(ctx, cluster.NewDatabase(t))
	} else {
		st, err = store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "iam.db"))
	}
	if err != nil {
		t.Fatalf("opening the identity store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestOnPostgreSQL runs the tests that use a store again on PostgreSQL.
func TestOnPostgreSQL(t *testing.T) {
	tests := map[string]func(*testing.T){
		"SignIn": TestSignIn, "SignInFailuresLookAlike": TestSignInFailuresLookAlike,
		"SignInThrottle": TestSignInThrottle, "SignInThrottleParallel": TestSignInThrottleParallel,
		"PasswordRule": TestPasswordRule,
		"SessionEnds":  TestSessionEnds, "ChangePassword": TestChangePassword,
		"SessionsOfOthers": TestSessionsOfOthers, "APIKeys": TestAPIKeys,
		"APIKeyRefused": TestAPIKeyRefused, "TenantsApart": TestTenantsApart,
		"Bootstrap": TestBootstrap, "EnsureKey": TestEnsureKey,
		"CreateKeyActsFor": TestCreateKeyActsFor, "Janitor": TestJanitor,
		"CreateUser": TestCreateUser, "UpdateUser": TestUpdateUser,
		"ListUsersPages": TestListUsersPages, "Remote": TestRemote,
		"OverGRPC": TestOverGRPC, "AuditPages": TestAuditPages,
		"NoSecretLeaks":  TestNoSecretLeaks,
		"CustomerSignIn": TestCustomerSignIn, "SignInCodeFailuresLookAlike": TestSignInCodeFailuresLookAlike,
		"SignInCodeBadInput": TestSignInCodeBadInput, "CustomerSessions": TestCustomerSessions,
		"ReassignContact": TestReassignContact, "JanitorDeletesCodes": TestJanitorDeletesCodes,
	}
	onPostgres = true
	defer func() { onPostgres = false }()
	for name, test := range tests {
		t.Run(name, test)
	}
}
