package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/iam"
	"github.com/kubedesk/kubedesk/services/platform/storage/pgtest"
)

var cluster *pgtest.Cluster

// TestMain starts the PostgreSQL cluster the contract suite runs against.
// Without it the tests fail rather than skip: an untested engine is not
// shipped.
func TestMain(m *testing.M) { pgtest.Main(m, &cluster, pgtest.Fast...) }

// engines are SQLite and PostgreSQL, each on a fresh database per test.
var engines = pgtest.Engines(&cluster, "iam.db",
	func(ctx context.Context, path string) (iam.Store, error) { return OpenSQLite(ctx, path) },
	func(ctx context.Context, url string) (iam.Store, error) { return OpenPostgres(ctx, url) })

// contract runs f against a fresh store of every engine, with the same
// expectations.
func contract(t *testing.T, f func(t *testing.T, s iam.Store)) { pgtest.Contract(t, engines, f) }

var ctx = context.Background()

// base is deliberately not UTC and has nanoseconds: the store must keep
// UTC microseconds.
var base = time.Date(2026, 3, 1, 9, 30, 0, 123456789, time.FixedZone("CST", 8*3600))

// id makes the n-th test ID; like UUIDv7 strings they sort in creation order.
func id(n int) string { return fmt.Sprintf("01900000-0000-7000-8000-%012d", n) }

// us is t as the stores keep it, written out here rather than calling the
// store's own normTime, so the expectation does not share the code under
// test.
func us(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func user(tenant string, n int) iam.User {
	return iam.User{
		Tenant:       tenant,
		ID:           id(n),
		Email:        fmt.Sprintf("User%d@Example.com", n),
		DisplayName:  fmt.Sprintf("李娜 %d 👩🏽‍💻", n),
		Locale:       "zh-CN",
		TimeZone:     "Asia/Shanghai",
		Roles:        []iamv1.Role{iamv1.Role_ROLE_AGENT, iamv1.Role_ROLE_SUPERVISOR},
		Groups:       []string{"billing", "网络"},
		Active:       true,
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
		CreateTime:   base.Add(time.Duration(n) * time.Minute),
		UpdateTime:   base.Add(time.Duration(n) * time.Minute),
		Version:      1,
	}
}

func storedUser(u iam.User) iam.User {
	u.Email = strings.ToLower(u.Email)
	u.Roles, u.Groups = orEmpty(u.Roles), orEmpty(u.Groups)
	u.CreateTime, u.UpdateTime = us(u.CreateTime), us(u.UpdateTime)
	return u
}

func key(tenant string, n int) iam.APIKey {
	return iam.APIKey{
		Tenant:      tenant,
		ID:          id(n),
		DisplayName: fmt.Sprintf("CI key %d", n),
		Role:        iamv1.Role_ROLE_INTEGRATION,
		Digest:      fmt.Sprintf("%064x", n),
		Prefix:      fmt.Sprintf("kd_%04d", n),
		Creator:     iam.Actor{ID: id(1), Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_USER, DisplayName: "Ana"},
		CreateTime:  base.Add(time.Duration(n) * time.Minute),
		ExpireTime:  base.Add(time.Duration(n) * time.Hour * 24 * 90),
	}
}

func storedKey(k iam.APIKey) iam.APIKey {
	k.Tenants = orEmpty(k.Tenants)
	k.CreateTime, k.ExpireTime, k.LastUsedTime, k.RevokeTime = us(k.CreateTime), us(k.ExpireTime), us(k.LastUsedTime), us(k.RevokeTime)
	return k
}

func session(tenant, userID string, n int) iam.Session {
	return iam.Session{
		Tenant:       tenant,
		ID:           id(n),
		UserID:       userID,
		Digest:       fmt.Sprintf("%064x", 1_000_000+n),
		ClientIP:     "2001:db8::1",
		UserAgent:    "Mozilla/5.0",
		CreateTime:   base.Add(time.Duration(n) * time.Minute),
		LastSeenTime: base.Add(time.Duration(n) * time.Minute),
		ExpireTime:   base.Add(time.Duration(n)*time.Minute + 12*time.Hour),
	}
}

func storedSession(s iam.Session) iam.Session {
	s.Email = strings.ToLower(s.Email)
	s.CreateTime, s.LastSeenTime, s.ExpireTime, s.RevokeTime = us(s.CreateTime), us(s.LastSeenTime), us(s.ExpireTime), us(s.RevokeTime)
	return s
}

var auditTypes = []iamv1.AuditEventType{
	iamv1.AuditEventType_AUDIT_EVENT_TYPE_SIGN_IN_SUCCEEDED,
	iamv1.AuditEventType_AUDIT_EVENT_TYPE_SIGN_IN_FAILED,
	iamv1.AuditEventType_AUDIT_EVENT_TYPE_API_KEY_CREATED,
}

func event(tenant string, n int) iam.AuditEvent {
	return iam.AuditEvent{
		Tenant:     tenant,
		ID:         id(n),
		Type:       auditTypes[n%len(auditTypes)],
		Actor:      iam.Actor{ID: id(1), Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_USER, DisplayName: "Ana"},
		Subject:    "user/" + id(1),
		ClientIP:   "192.0.2.7",
		Detail:     fmt.Sprintf("attempt %d", n),
		TraceID:    "4bf92f3577b34da6a3ce929d0e0e4736",
		CreateTime: base.Add(time.Duration(n) * time.Minute),
	}
}

func mustCreateUser(t *testing.T, s iam.Store, u iam.User) iam.User {
	t.Helper()
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser(%s): %v", u.ID, err)
	}
	return storedUser(u)
}

func mustCreateKey(t *testing.T, s iam.Store, k iam.APIKey) iam.APIKey {
	t.Helper()
	if err := s.CreateAPIKey(ctx, k); err != nil {
		t.Fatalf("CreateAPIKey(%s): %v", k.ID, err)
	}
	return storedKey(k)
}

func mustCreateSession(t *testing.T, s iam.Store, ses iam.Session) iam.Session {
	t.Helper()
	if err := s.CreateSession(ctx, ses); err != nil {
		t.Fatalf("CreateSession(%s): %v", ses.ID, err)
	}
	return storedSession(ses)
}

func mustAppend(t *testing.T, s iam.Store, e iam.AuditEvent) iam.AuditEvent {
	t.Helper()
	if err := s.AppendAudit(ctx, e); err != nil {
		t.Fatalf("AppendAudit(%s): %v", e.ID, err)
	}
	e.CreateTime = us(e.CreateTime)
	return e
}

func second[T any](_ T, err error) error { return err }

// checkUTC fails t for a time the store returned that is not UTC at
// microsecond precision.
func checkUTC(t *testing.T, times ...time.Time) {
	t.Helper()
	for _, tm := range times {
		if !tm.IsZero() && (tm.Location() != time.UTC || tm.Nanosecond()%1000 != 0) {
			t.Errorf("time %v: want UTC with microsecond precision", tm)
		}
	}
}

func TestUsers(t *testing.T) {
	bare := iam.User{Tenant: "acme", ID: id(9), Email: "bare@example.com", CreateTime: base, UpdateTime: base, Version: 1}
	contract(t, func(t *testing.T, s iam.Store) {
		for _, u := range []iam.User{user("acme", 1), bare} {
			want := mustCreateUser(t, s, u)
			got, err := s.GetUser(ctx, "acme", u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("GetUser (-want +got):\n%s", diff)
			}
			checkUTC(t, got.CreateTime, got.UpdateTime)
		}
		want := storedUser(user("acme", 1))
		for _, email := range []string{"user1@example.com", "USER1@EXAMPLE.COM", "User1@Example.com"} {
			got, err := s.GetUserByEmail(ctx, "acme", email)
			if err != nil {
				t.Fatalf("GetUserByEmail(%q): %v", email, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("GetUserByEmail(%q) (-want +got):\n%s", email, diff)
			}
		}
		if n, err := s.CountUsers(ctx, "acme"); err != nil || n != 2 {
			t.Errorf("CountUsers = %d, %v; want 2", n, err)
		}
		if n, err := s.CountUsers(ctx, "other"); err != nil || n != 0 {
			t.Errorf("CountUsers(other) = %d, %v; want 0", n, err)
		}
		for name, err := range map[string]error{
			"GetUser":        second(s.GetUser(ctx, "acme", id(99))),
			"GetUserByEmail": second(s.GetUserByEmail(ctx, "acme", "nobody@example.com")),
		} {
			if !errors.Is(err, iam.ErrNotFound) {
				t.Errorf("%s of a missing user: err = %v, want ErrNotFound", name, err)
			}
		}
	})
}

func TestCreateUserConflict(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*iam.User)
		wantErr error
	}{
		{"same email", func(u *iam.User) { u.ID = id(2) }, iam.ErrConflict},
		{"same email, other case", func(u *iam.User) { u.ID, u.Email = id(2), "USER1@example.COM" }, iam.ErrConflict},
		{"same id", func(u *iam.User) { u.Email = "other@example.com" }, iam.ErrConflict},
		{"same email in another tenant", func(u *iam.User) { u.Tenant, u.ID = "globex", id(2) }, nil},
		{"another email", func(u *iam.User) { u.ID, u.Email = id(2), "user2@example.com" }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			contract(t, func(t *testing.T, s iam.Store) {
				first := mustCreateUser(t, s, user("acme", 1))
				u := user("acme", 1)
				tt.edit(&u)
				err := s.CreateUser(ctx, u)
				if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
					t.Fatalf("CreateUser = %v, want %v", err, tt.wantErr)
				}
				got, err := s.GetUser(ctx, "acme", first.ID)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(first, got); diff != "" {
					t.Errorf("first user after the create (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func TestUpdateUser(t *testing.T) {
	errMine := errors.New("mutate says no")
	rename := func(u *iam.User) error { u.DisplayName = "Renamed"; return nil }
	tests := []struct {
		name      string
		ifVersion int64
		mutate    func(*iam.User) error
		wantErr   error // nil: written
		want      func(u *iam.User)
	}{
		{name: "any version", ifVersion: 0, mutate: rename, want: func(u *iam.User) { u.DisplayName = "Renamed" }},
		{name: "the stored version", ifVersion: 1, mutate: rename, want: func(u *iam.User) { u.DisplayName = "Renamed" }},
		{name: "stale version", ifVersion: 2, mutate: rename, wantErr: iam.ErrStale},
		{name: "mutate fails", mutate: func(u *iam.User) error { u.DisplayName = "half done"; return errMine }, wantErr: errMine},
		{name: "email taken", mutate: func(u *iam.User) error { u.Email = "User2@example.com"; return nil }, wantErr: iam.ErrConflict},
		{name: "email lower-cased", mutate: func(u *iam.User) error { u.Email = "New.Address@Example.com"; return nil },
			want: func(u *iam.User) { u.Email = "new.address@example.com" }},
		{name: "lists and flags", mutate: func(u *iam.User) error {
			u.Roles = append(u.Roles, iamv1.Role_ROLE_ADMIN)
			u.Groups = nil
			u.Active = false
			u.PasswordHash = ""
			return nil
		}, want: func(u *iam.User) {
			u.Roles = []iamv1.Role{iamv1.Role_ROLE_AGENT, iamv1.Role_ROLE_SUPERVISOR, iamv1.Role_ROLE_ADMIN}
			u.Groups = []string{}
			u.Active = false
			u.PasswordHash = ""
		}},
		{name: "identity and bookkeeping kept", mutate: func(u *iam.User) error {
			u.Tenant, u.ID, u.CreateTime, u.Version, u.UpdateTime = "globex", id(50), base.Add(-time.Hour), 42, base
			return nil
		}, want: func(*iam.User) {}},
		{name: "nil mutate", want: func(*iam.User) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			contract(t, func(t *testing.T, s iam.Store) {
				cur := mustCreateUser(t, s, user("acme", 1))
				mustCreateUser(t, s, user("acme", 2))
				before := time.Now()
				got, err := s.UpdateUser(ctx, "acme", cur.ID, tt.ifVersion, tt.mutate)
				after := time.Now()
				stored, gerr := s.GetUser(ctx, "acme", cur.ID)
				if gerr != nil {
					t.Fatal(gerr)
				}
				if tt.wantErr != nil {
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("UpdateUser = %v, want %v", err, tt.wantErr)
					}
					if tt.wantErr == errMine && err != errMine { //nolint:errorlint // the very error mutate returned, unwrapped
						t.Errorf("UpdateUser = %#v, want mutate's error as is", err)
					}
					if diff := cmp.Diff(cur, stored); diff != "" {
						t.Errorf("user after a failed update (-want +got):\n%s", diff)
					}
					return
				}
				if err != nil {
					t.Fatalf("UpdateUser: %v", err)
				}
				want := cur
				tt.want(&want)
				want.Version = 2
				if got.UpdateTime.Before(before.Add(-time.Microsecond)) || got.UpdateTime.After(after) {
					t.Errorf("update time %v, want between %v and %v", got.UpdateTime, before, after)
				}
				checkUTC(t, got.UpdateTime)
				want.UpdateTime = got.UpdateTime
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("UpdateUser returned (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(want, stored); diff != "" {
					t.Errorf("GetUser after the update (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func TestUpdateUserNotCalled(t *testing.T) {
	contract(t, func(t *testing.T, s iam.Store) {
		u := mustCreateUser(t, s, user("acme", 1))
		called := false
		mutate := func(*iam.User) error { called = true; return nil }
		for name, c := range map[string]struct {
			tenant, id string
			version    int64
			want       error
		}{
			"missing":        {"acme", id(99), 0, iam.ErrNotFound},
			"another tenant": {"globex", u.ID, 0, iam.ErrNotFound},
			"stale":          {"acme", u.ID, 7, iam.ErrStale},
		} {
			if _, err := s.UpdateUser(ctx, c.tenant, c.id, c.version, mutate); !errors.Is(err, c.want) {
				t.Errorf("%s: UpdateUser = %v, want %v", name, err, c.want)
			}
		}
		if called {
			t.Error("mutate was called")
		}
	})
}

// TestConcurrentUpdatesKeepEveryChange: updates of one user run one at a
// time (the row is locked), so none is lost.
func TestConcurrentUpdatesKeepEveryChange(t *testing.T) {
	const n = 8
	contract(t, func(t *testing.T, s iam.Store) {
		u := mustCreateUser(t, s, user("acme", 1))
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, err := s.UpdateUser(ctx, "acme", u.ID, 0, func(u *iam.User) error {
					u.Groups = append(u.Groups, fmt.Sprint(i))
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		got, err := s.GetUser(ctx, "acme", u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != n+1 || len(got.Groups) != len(u.Groups)+n {
			t.Errorf("after %d updates: version %d, groups %v; want version %d and every group", n, got.Version, got.Groups, n+1)
		}
	})
}

func TestListUsers(t *testing.T) {
	contract(t, func(t *testing.T, s iam.Store) {
		var want []string
		// Emails in an order unlike the IDs', some upper-case, some not
		// ASCII: both engines order them bytewise.
		letters := []rune("AbÜüzéÉ李a")
		for i := range 23 {
			u := user("acme", i)
			u.Email = fmt.Sprintf("%c%02d@example.com", letters[(i*7)%len(letters)], i)
			mustCreateUser(t, s, u)
			want = append(want, strings.ToLower(u.Email))
			mustCreateUser(t, s, user("globex", i)) // another tenant's, never listed
		}
		slices.Sort(want)
		for _, limit := range []int{1, 4, 23, 100} {
			var got []string
			after := ""
			for range 100 {
				page, err := s.ListUsers(ctx, "acme", after, limit)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > limit {
					t.Fatalf("page of %d users, limit %d", len(page), limit)
				}
				for _, u := range page {
					got = append(got, u.Email)
				}
				if len(page) < limit {
					break
				}
				after = page[len(page)-1].Email
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("limit %d: emails (-want +got):\n%s", limit, diff)
			}
		}
		if page, err := s.ListUsers(ctx, "nobody", "", 10); err != nil || page == nil || len(page) != 0 {
			t.Errorf("ListUsers of an empty tenant = %#v, %v; want an empty page", page, err)
		}
		if _, err := s.ListUsers(ctx, "acme", "", 0); err == nil {
			t.Error("ListUsers with limit 0 succeeded")
		}
	})
}

func TestAPIKeys(t *testing.T) {
	contract(t, func(t *testing.T, s iam.Store) {
		if n, err := s.CountAPIKeys(ctx); err != nil || n != 0 {
			t.Errorf("CountAPIKeys of a new store = %d, %v; want 0", n, err)
		}
		admin := key("acme", 1)
		admin.Role, admin.Tenants = iamv1.Role_ROLE_ADMIN, []string{"*"}
		admin.Creator = iam.Actor{Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_SERVICE, DisplayName: "kubedesk iam bootstrap"}
		bare := iam.APIKey{Tenant: "globex", ID: id(2), Digest: "d2", CreateTime: base}
		for _, k := range []iam.APIKey{admin, bare} {
			want := mustCreateKey(t, s, k)
			// The lookup names no tenant.
			got, err := s.LookupAPIKey(ctx, k.Digest)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("LookupAPIKey (-want +got):\n%s", diff)
			}
			checkUTC(t, got.CreateTime, got.ExpireTime)
		}
		if n, err := s.CountAPIKeys(ctx); err != nil || n != 2 {
			t.Errorf("CountAPIKeys = %d, %v; want 2, of every tenant", n, err)
		}
		dup := key("globex", 3)
		dup.Digest = admin.Digest
		if err := s.CreateAPIKey(ctx, dup); !errors.Is(err, iam.ErrConflict) {
			t.Errorf("CreateAPIKey with another tenant's digest = %v, want ErrConflict", err)
		}
		if _, err := s.LookupAPIKey(ctx, "unknown"); !errors.Is(err, iam.ErrNotFound) {
			t.Errorf("LookupAPIKey(unknown) = %v, want ErrNotFound", err)
		}

		// Revoke: once, and only in the key's tenant.
		first := base.Add(time.Hour)
		got, err := s.RevokeAPIKey(ctx, "acme", admin.ID, first)
		want := storedKey(admin)
		want.RevokeTime = us(first)
		if err != nil || !cmp.Equal(want, got) {
			t.Errorf("RevokeAPIKey = %v, %v; want %v", got, err, want)
		}
		got, err = s.RevokeAPIKey(ctx, "acme", admin.ID, first.Add(time.Hour))
		if err != nil || !got.RevokeTime.Equal(us(first)) {
			t.Errorf("second RevokeAPIKey = revoke time %v, %v; want the first, %v", got.RevokeTime, err, us(first))
		}
		if got, err := s.LookupAPIKey(ctx, admin.Digest); err != nil || !got.RevokeTime.Equal(us(first)) {
			t.Errorf("LookupAPIKey of a revoked key = revoke time %v, %v; want it found, revoked at %v", got.RevokeTime, err, us(first))
		}
		for name, c := range map[string]struct{ tenant, id string }{
			"missing":        {"acme", id(99)},
			"another tenant": {"globex", admin.ID},
		} {
			if _, err := s.RevokeAPIKey(ctx, c.tenant, c.id, first); !errors.Is(err, iam.ErrNotFound) {
				t.Errorf("RevokeAPIKey of a %s key = %v, want ErrNotFound", name, err)
			}
		}
		if _, err := s.RevokeAPIKey(ctx, "globex", bare.ID, time.Time{}); err == nil {
			t.Error("RevokeAPIKey with a zero time succeeded")
		}
		if got, err := s.LookupAPIKey(ctx, bare.Digest); err != nil || !got.RevokeTime.IsZero() {
			t.Errorf("globex's key = revoke time %v, %v; want it untouched", got.RevokeTime, err)
		}
	})
}

func TestListAPIKeys(t *testing.T) {
	contract(t, func(t *testing.T, s iam.Store) {
		var want []string
		for i := range 17 {
			k := key("acme", i)
			if i%3 == 0 {
				k.RevokeTime = base // revoked keys are listed too
			}
			mustCreateKey(t, s, k)
			want = append(want, k.ID)
			other := key("globex", 100+i)
			mustCreateKey(t, s, other)
		}
		slices.Reverse(want)
		for _, limit := range []int{1, 5, 17, 50} {
			got := pageAll(t, limit, func(before string) ([]string, error) {
				page, err := s.ListAPIKeys(ctx, "acme", before, limit)
				return ids(page, func(k iam.APIKey) string { return k.ID }), err
			})
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("limit %d: keys (-want +got):\n%s", limit, diff)
			}
		}
	})
}

// pageAll reads every page of a newest-first list.
func pageAll(t *testing.T, limit int, list func(before string) ([]string, error)) []string {
	t.Helper()
	var out []string
	before := ""
	for range 100 {
		page, err := list(before)
		if err != nil {
			t.Fatal(err)
		}
		if page == nil {
			t.Fatal("page is nil, want an empty page")
		}
		if len(page) > limit {
			t.Fatalf("page of %d, limit %d", len(page), limit)
		}
		out = append(out, page...)
		if len(page) < limit {
			return out
		}
		before = page[len(page)-1]
	}
	t.Fatal("more than 100 pages")
	return nil
}

func ids[T any](rs []T, id func(T) string) []string {
	if rs == nil {
		return nil
	}
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = id(r)
	}
	return out
}

func TestTouch(t *testing.T) {
	contract(t, func(t *testing.T, s iam.Store) {
		never := mustCreateKey(t, s, key("acme", 1)) // never used
		used := key("globex", 2)
		used.LastUsedTime = base.Add(time.Hour)
		used = mustCreateKey(t, s, used)
		ses := mustCreateSession(t, s, session("acme", id(9), 3))

		later, earlier := base.Add(2*time.Hour), base.Add(-time.Hour)
		if err := s.TouchAPIKeys(ctx, map[string]time.Time{never.ID: earlier, used.ID: later, id(99): later}); err != nil {
			t.Fatal(err)
		}
		if err := s.TouchSessions(ctx, map[string]time.Time{ses.ID: later, id(99): later}); err != nil {
			t.Fatal(err)
		}
		check := func(when string, wantNever, wantUsed, wantSeen time.Time) {
			t.Helper()
			for _, c := range []struct {
				what, digest string
				want         time.Time
			}{{"never used key", never.Digest, wantNever}, {"used key", used.Digest, wantUsed}} {
				k, err := s.LookupAPIKey(ctx, c.digest)
				if err != nil || !k.LastUsedTime.Equal(us(c.want)) {
					t.Errorf("%s: %s last used %v, %v; want %v", when, c.what, k.LastUsedTime, err, us(c.want))
				}
				checkUTC(t, k.LastUsedTime)
			}
			got, err := s.LookupSession(ctx, ses.Digest)
			if err != nil || !got.LastSeenTime.Equal(us(wantSeen)) {
				t.Errorf("%s: session last seen %v, %v; want %v", when, got.LastSeenTime, err, us(wantSeen))
			}
		}
		check("after the first touch", earlier, later, later)

		// Earlier times never move a stored one back; zero ones say nothing.
		if err := s.TouchAPIKeys(ctx, map[string]time.Time{never.ID: earlier.Add(-time.Hour), used.ID: base}); err != nil {
			t.Fatal(err)
		}
		if err := s.TouchAPIKeys(ctx, map[string]time.Time{never.ID: {}}); err != nil {
			t.Fatal(err)
		}
		if err := s.TouchSessions(ctx, map[string]time.Time{ses.ID: base}); err != nil {
			t.Fatal(err)
		}
		if err := s.TouchSessions(ctx, map[string]time.Time{ses.ID: {}}); err != nil {
			t.Fatal(err)
		}
		check("after touching with earlier times", earlier, later, later)

		if err := s.TouchAPIKeys(ctx, nil); err != nil {
			t.Errorf("TouchAPIKeys(nil) = %v", err)
		}
		if err := s.TouchSessions(ctx, map[string]time.Time{}); err != nil {
			t.Errorf("TouchSessions(empty) = %v", err)
		}
	})
}

// TestConcurrentTouches: replicas flushing overlapping batches at once
// neither fail nor deadlock, and the latest time wins.
func TestConcurrentTouches(t *testing.T) {
	contract(t, func(t *testing.T, s iam.Store) {
		var keys []iam.APIKey
		for i := range 10 {
			keys = append(keys, mustCreateKey(t, s, key("acme", i)))
		}
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for round := range 5 {
					batch := map[string]time.Time{}
					for i, k := range keys {
						batch[k.ID] = base.Add(time.Duration(w*10+round+i) * time.Second)
					}
					if err := s.TouchAPIKeys(ctx, batch); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		for i, k := range keys {
			got, err := s.LookupAPIKey(ctx, k.Digest)
			want := us(base.Add(time.Duration(3*10+4+i) * time.Second))
			if err != nil || !got.LastUsedTime.Equal(want) {
				t.Errorf("key %d last used %v, %v; want the latest, %v", i, got.LastUsedTime, err, want)
			}
		}
	})
}

func TestSessions(t *testing.T) {
	contract(t, func(t *testing.T, s iam.Store) {
		ana, bo := id(1000), id(1001)
		full := session("acme", ana, 1)
		full.RevokeTime = base.Add(time.Minute)
		bare := iam.Session{Tenant: "acme", ID: id(2), UserID: ana, Digest: "d2", CreateTime: base, ExpireTime: base.Add(time.Hour)}
		for _, ses := range []iam.Session{full, bare} {
			want := mustCreateSession(t, s, ses)
			got, err := s.LookupSession(ctx, ses.Digest)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("LookupSession (-want +got):\n%s", diff)
			}
			checkUTC(t, got.CreateTime, got.LastSeenTime, got.ExpireTime, got.RevokeTime)
			got, err = s.GetSession(ctx, "acme", ses.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("GetSession (-want +got):\n%s", diff)
			}
		}
		dup := session("globex", bo, 3)
		dup.Digest = full.Digest
		if err := s.CreateSession(ctx, dup); !errors.Is(err, iam.ErrConflict) {
			t.Errorf("CreateSession with a stored digest = %v, want ErrConflict", err)
		}
		noExpiry := session("acme", bo, 4)
		noExpiry.ExpireTime = time.Time{}
		if err := s.CreateSession(ctx, noExpiry); err == nil {
			t.Error("CreateSession without an expire time succeeded")
		}
		for name, err := range map[string]error{
			"LookupSession":           second(s.LookupSession(ctx, "unknown")),
			"GetSession":              second(s.GetSession(ctx, "acme", id(99))),
			"GetSession other tenant": second(s.GetSession(ctx, "globex", full.ID)),
			"RevokeSession":           s.RevokeSession(ctx, "acme", id(99), base),
			"RevokeSession other":     s.RevokeSession(ctx, "globex", bare.ID, base),
		} {
			if !errors.Is(err, iam.ErrNotFound) {
				t.Errorf("%s = %v, want ErrNotFound", name, err)
			}
		}

		if err := s.RevokeSession(ctx, "acme", bare.ID, time.Time{}); err == nil {
			t.Error("RevokeSession with a zero time succeeded")
		}
		if _, err := s.RevokeUserSessions(ctx, "acme", ana, "", time.Time{}); err == nil {
			t.Error("RevokeUserSessions with a zero time succeeded")
		}

		// A second revoke keeps the first time.
		first := base.Add(5 * time.Minute)
		for _, at := range []time.Time{first, first.Add(time.Hour)} {
			if err := s.RevokeSession(ctx, "acme", bare.ID, at); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := s.GetSession(ctx, "acme", bare.ID); err != nil || !got.RevokeTime.Equal(us(first)) {
			t.Errorf("session revoked twice: revoke time %v, %v; want the first, %v", got.RevokeTime, err, us(first))
		}
	})
}

func TestListSessions(t *testing.T) {
	contract(t, func(t *testing.T, s iam.Store) {
		ana, bo := id(1000), id(1001)
		now := base.Add(time.Hour)
		var want []string
		for i := range 14 {
			ses := session("acme", ana, i)
			switch i % 4 {
			case 1:
				ses.RevokeTime = base // revoked: not listed
			case 2:
				ses.ExpireTime = now // expired at now: not listed
			default:
				ses.ExpireTime = now.Add(time.Duration(i+1) * time.Microsecond)
				want = append(want, ses.ID)
			}
			mustCreateSession(t, s, ses)
			mustCreateSession(t, s, session("acme", bo, 100+i))    // another user's
			mustCreateSession(t, s, session("globex", ana, 200+i)) // another tenant's
		}
		slices.Reverse(want)
		for _, limit := range []int{1, 3, 7, 50} {
			got := pageAll(t, limit, func(before string) ([]string, error) {
				page, err := s.ListSessions(ctx, "acme", ana, before, now, limit)
				return ids(page, func(s iam.Session) string { return s.ID }), err
			})
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("limit %d: sessions (-want +got):\n%s", limit, diff)
			}
		}
	})
}

func TestRevokeUserSessions(t *testing.T) {
	contract(t, func(t *testing.T, s iam.Store) {
		ana, bo := id(1000), id(1001)
		now := base.Add(time.Hour)
		live := []iam.Session{session("acme", ana, 1), session("acme", ana, 2), session("acme", ana, 3)}
		for i := range live {
			live[i].ExpireTime = now.Add(time.Hour)
			live[i] = mustCreateSession(t, s, live[i])
		}
		revoked := session("acme", ana, 4)
		revoked.RevokeTime, revoked.ExpireTime = base, now.Add(time.Hour)
		revoked = mustCreateSession(t, s, revoked)
		expired := session("acme", ana, 5)
		expired.ExpireTime = now // not live at now
		expired = mustCreateSession(t, s, expired)
		others := []iam.Session{ // live, but another user's and another tenant's
			mustCreateSession(t, s, session("acme", bo, 6)),
			mustCreateSession(t, s, session("globex", ana, 7)),
		}

		keep := live[1].ID
		n, err := s.RevokeUserSessions(ctx, "acme", ana, keep, now)
		if err != nil || n != 2 {
			t.Fatalf("RevokeUserSessions = %d, %v; want 2", n, err)
		}
		wantRevoke := map[string]time.Time{
			live[0].ID: us(now), live[1].ID: {}, live[2].ID: us(now),
			revoked.ID: us(base), expired.ID: {}, others[0].ID: {},
		}
		for id, want := range wantRevoke {
			got, err := s.GetSession(ctx, "acme", id)
			if err != nil || !got.RevokeTime.Equal(want) {
				t.Errorf("session %s: revoke time %v, %v; want %v", id, got.RevokeTime, err, want)
			}
		}
		if got, err := s.GetSession(ctx, "globex", others[1].ID); err != nil || !got.RevokeTime.IsZero() {
			t.Errorf("globex session: revoke time %v, %v; want none", got.RevokeTime, err)
		}
		if n, err := s.RevokeUserSessions(ctx, "acme", ana, "", now); err != nil || n != 1 {
			t.Errorf("RevokeUserSessions with no exception = %d, %v; want the one left", n, err)
		}
	})
}

func TestDeleteSessions(t *testing.T) {
	contract(t, func(t *testing.T, s iam.Store) {
		cutoff := base.Add(24 * time.Hour)
		keep := map[string]string{} // id: tenant
		n := 0
		add := func(count int, edit func(*iam.Session), kept bool) {
			for range count {
				n++
				ses := session(fmt.Sprint("t", n%2), id(1000), n) // of any tenant
				edit(&ses)
				mustCreateSession(t, s, ses)
				if kept {
					keep[ses.ID] = ses.Tenant
				}
			}
		}
		add(4, func(s *iam.Session) { s.ExpireTime = cutoff.Add(-time.Second) }, false)                                      // expired
		add(3, func(s *iam.Session) { s.ExpireTime, s.RevokeTime = cutoff.Add(time.Hour), cutoff.Add(-time.Second) }, false) // revoked
		add(2, func(s *iam.Session) { s.ExpireTime = cutoff.Add(time.Hour) }, true)                                          // live
		add(2, func(s *iam.Session) { s.ExpireTime, s.RevokeTime = cutoff.Add(time.Hour), cutoff }, true)                    // revoked at the cutoff, not before
		add(1, func(s *iam.Session) { s.ExpireTime = cutoff }, true)                                                         // expires at the cutoff

		var got []int
		for range 5 {
			deleted, err := s.DeleteSessions(ctx, cutoff, 3)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, deleted)
		}
		if want := []int{3, 3, 1, 0, 0}; !slices.Equal(got, want) {
			t.Errorf("deleted per call = %v, want %v", got, want)
		}
		for id, tenant := range keep {
			if _, err := s.GetSession(ctx, tenant, id); err != nil {
				t.Errorf("session %s, not to be deleted: %v", id, err)
			}
		}
		if _, err := s.DeleteSessions(ctx, cutoff, 0); err == nil {
			t.Error("DeleteSessions with limit 0 succeeded")
		}
	})
}

func TestAudit(t *testing.T) {
	contract(t, func(t *testing.T, s iam.Store) {
		var all []iam.AuditEvent
		for i := range 20 {
			all = append(all, mustAppend(t, s, event("acme", i)))
			mustAppend(t, s, event("globex", 100+i))
		}
		slices.Reverse(all)
		if err := s.AppendAudit(ctx, event("acme", 3)); !errors.Is(err, iam.ErrConflict) {
			t.Errorf("AppendAudit of a stored ID = %v, want ErrConflict", err)
		}
		page, err := s.ListAudit(ctx, "acme", nil, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(all, page); diff != "" {
			t.Errorf("ListAudit (-want +got):\n%s", diff)
		}
		for _, e := range page {
			checkUTC(t, e.CreateTime)
		}
		tests := []struct {
			name  string
			types []iamv1.AuditEventType
		}{
			{"all types", nil},
			{"one type", auditTypes[1:2]},
			{"two types", []iamv1.AuditEventType{auditTypes[0], auditTypes[2]}},
			{"a type with no events", []iamv1.AuditEventType{iamv1.AuditEventType_AUDIT_EVENT_TYPE_PASSWORD_CHANGED}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var want []string
				for _, e := range all {
					if len(tt.types) == 0 || slices.Contains(tt.types, e.Type) {
						want = append(want, e.ID)
					}
				}
				for _, limit := range []int{1, 3, 50} {
					got := pageAll(t, limit, func(before string) ([]string, error) {
						page, err := s.ListAudit(ctx, "acme", tt.types, before, limit)
						return ids(page, func(e iam.AuditEvent) string { return e.ID }), err
					})
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("limit %d: events (-want +got):\n%s", limit, diff)
					}
				}
			})
		}
	})
}

func TestDeleteAudit(t *testing.T) {
	contract(t, func(t *testing.T, s iam.Store) {
		for i := range 10 {
			mustAppend(t, s, event(fmt.Sprint("t", i%3), i))
		}
		cutoff := us(event("", 7).CreateTime) // events 0..6 are older
		var got []int
		for range 4 {
			n, err := s.DeleteAudit(ctx, cutoff, 3)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, n)
		}
		if want := []int{3, 3, 1, 0}; !slices.Equal(got, want) {
			t.Errorf("deleted per call = %v, want %v", got, want)
		}
		var left []string
		for _, tenant := range []string{"t0", "t1", "t2"} {
			page, err := s.ListAudit(ctx, tenant, nil, "", 100)
			if err != nil {
				t.Fatal(err)
			}
			left = append(left, ids(page, func(e iam.AuditEvent) string { return e.ID })...)
		}
		slices.Sort(left)
		if want := []string{id(7), id(8), id(9)}; !slices.Equal(left, want) {
			t.Errorf("events left = %v, want %v", left, want)
		}
	})
}

// TestTenantIsolation: another tenant cannot see or touch a tenant's
// records, not even learn that they exist.
func TestTenantIsolation(t *testing.T) {
	contract(t, func(t *testing.T, s iam.Store) {
		u := mustCreateUser(t, s, user("tenant-a", 1))
		k := mustCreateKey(t, s, key("tenant-a", 2))
		ses := session("tenant-a", u.ID, 3)
		ses.ExpireTime = time.Now().Add(time.Hour)
		ses = mustCreateSession(t, s, ses)
		mustAppend(t, s, event("tenant-a", 4))

		called := false
		mutate := func(u *iam.User) error { called = true; u.DisplayName = "hijacked"; return nil }
		for name, err := range map[string]error{
			"GetUser":        second(s.GetUser(ctx, "tenant-b", u.ID)),
			"GetUserByEmail": second(s.GetUserByEmail(ctx, "tenant-b", u.Email)),
			"UpdateUser":     second(s.UpdateUser(ctx, "tenant-b", u.ID, 0, mutate)),
			"RevokeAPIKey":   second(s.RevokeAPIKey(ctx, "tenant-b", k.ID, base)),
			"GetSession":     second(s.GetSession(ctx, "tenant-b", ses.ID)),
			"RevokeSession":  s.RevokeSession(ctx, "tenant-b", ses.ID, base),
		} {
			if !errors.Is(err, iam.ErrNotFound) {
				t.Errorf("tenant-b %s of tenant-a's record: err = %v, want ErrNotFound", name, err)
			}
		}
		if called {
			t.Error("mutate was called on another tenant's user")
		}
		lists := map[string]func() (int, error){
			"ListUsers":   func() (int, error) { p, err := s.ListUsers(ctx, "tenant-b", "", 10); return len(p), err },
			"ListAPIKeys": func() (int, error) { p, err := s.ListAPIKeys(ctx, "tenant-b", "", 10); return len(p), err },
			"ListSessions": func() (int, error) {
				p, err := s.ListSessions(ctx, "tenant-b", u.ID, "", time.Now(), 10)
				return len(p), err
			},
			"ListAudit": func() (int, error) { p, err := s.ListAudit(ctx, "tenant-b", nil, "", 10); return len(p), err },
			"RevokeUserSessions": func() (int, error) {
				return s.RevokeUserSessions(ctx, "tenant-b", u.ID, "", time.Now())
			},
			"CountUsers": func() (int, error) { return s.CountUsers(ctx, "tenant-b") },
		}
		for name, f := range lists {
			if n, err := f(); err != nil || n != 0 {
				t.Errorf("tenant-b %s = %d, %v; want 0", name, n, err)
			}
		}
		if got, err := s.GetUser(ctx, "tenant-a", u.ID); err != nil || !cmp.Equal(u, got) {
			t.Errorf("tenant-a's user after tenant-b's attempts = %+v, %v; want it untouched", got, err)
		}
		if got, err := s.GetSession(ctx, "tenant-a", ses.ID); err != nil || !got.RevokeTime.IsZero() {
			t.Errorf("tenant-a's session after tenant-b's attempts = %+v, %v; want it live", got, err)
		}
		if got, err := s.LookupAPIKey(ctx, k.Digest); err != nil || !got.RevokeTime.IsZero() {
			t.Errorf("tenant-a's key after tenant-b's attempts = %+v, %v; want it live", got, err)
		}
	})
}

// TestNULText: text holding the NUL character is refused by every engine
// alike, with ErrNULText naming the field, and nothing is written
// (PostgreSQL cannot store it, SQLite could).
func TestNULText(t *testing.T) {
	const nul = "a\x00b"
	contract(t, func(t *testing.T, s iam.Store) {
		u := mustCreateUser(t, s, user("acme", 1))
		withUser := func(edit func(*iam.User)) iam.User { out := user("acme", 2); edit(&out); return out }
		withKey := func(edit func(*iam.APIKey)) iam.APIKey { out := key("acme", 3); edit(&out); return out }
		withSession := func(edit func(*iam.Session)) iam.Session { out := session("acme", u.ID, 4); edit(&out); return out }
		withEvent := func(edit func(*iam.AuditEvent)) iam.AuditEvent { out := event("acme", 5); edit(&out); return out }
		checks := []struct {
			name string
			err  error
			want string
		}{
			{"create user: email", s.CreateUser(ctx, withUser(func(u *iam.User) { u.Email = nul })),
				`create user: email "a\x00b": `},
			{"create user: group", s.CreateUser(ctx, withUser(func(u *iam.User) { u.Groups = []string{"ok", nul} })),
				`create user: group "a\x00b": `},
			{"create user: password hash", s.CreateUser(ctx, withUser(func(u *iam.User) { u.PasswordHash = nul })),
				`create user: password hash "a\x00b": `},
			{"get user: id", second(s.GetUser(ctx, "acme", nul)), `get user: id "a\x00b": `},
			{"get user by email", second(s.GetUserByEmail(ctx, "acme", nul)), `get user by email: email "a\x00b": `},
			{"list users: after", second(s.ListUsers(ctx, "acme", nul, 10)), `list users: after email "a\x00b": `},
			{"update user: display name", second(s.UpdateUser(ctx, "acme", u.ID, 0, func(u *iam.User) error { u.DisplayName = nul; return nil })),
				`update user ` + u.ID + `: display name "a\x00b": `},
			{"update user: tenant", second(s.UpdateUser(ctx, nul, u.ID, 0, nil)), `update user: tenant "a\x00b": `},
			{"count users", second(s.CountUsers(ctx, nul)), `count users: tenant "a\x00b": `},
			{"create key: tenants", s.CreateAPIKey(ctx, withKey(func(k *iam.APIKey) { k.Tenants = []string{nul} })),
				`create API key: tenants "a\x00b": `},
			{"create key: creator", s.CreateAPIKey(ctx, withKey(func(k *iam.APIKey) { k.Creator.DisplayName = nul })),
				`create API key: creator name "a\x00b": `},
			{"lookup key", second(s.LookupAPIKey(ctx, nul)), `look up API key: digest "a\x00b": `},
			{"list keys", second(s.ListAPIKeys(ctx, "acme", nul, 10)), `list API keys: before id "a\x00b": `},
			{"revoke key", second(s.RevokeAPIKey(ctx, "acme", nul, base)), `revoke API key: id "a\x00b": `},
			{"touch keys", s.TouchAPIKeys(ctx, map[string]time.Time{nul: base}), `touch API keys: id "a\x00b": `},
			{"create session: user agent", s.CreateSession(ctx, withSession(func(s *iam.Session) { s.UserAgent = nul })),
				`create session: user agent "a\x00b": `},
			{"lookup session", second(s.LookupSession(ctx, nul)), `look up session: digest "a\x00b": `},
			{"list sessions", second(s.ListSessions(ctx, "acme", nul, "", base, 10)), `list sessions: user id "a\x00b": `},
			{"get session", second(s.GetSession(ctx, "acme", nul)), `get session: id "a\x00b": `},
			{"revoke session", s.RevokeSession(ctx, "acme", nul, base), `revoke session: id "a\x00b": `},
			{"revoke user sessions", second(s.RevokeUserSessions(ctx, "acme", u.ID, nul, base)), `revoke user sessions: except id "a\x00b": `},
			{"touch sessions", s.TouchSessions(ctx, map[string]time.Time{nul: base}), `touch sessions: id "a\x00b": `},
			{"create session: contact", s.CreateSession(ctx, withSession(func(s *iam.Session) { s.ContactID = nul })),
				`create session: contact id "a\x00b": `},
			{"list contact sessions", second(s.ListContactSessions(ctx, "acme", nul, "", base, 10)), `list sessions: contact id "a\x00b": `},
			{"create code: email", s.CreateSignInCode(ctx, code("acme", nul, 6)), `create sign-in code: email "a\x00b": `},
			{"use code: email", second(s.UseSignInCode(ctx, "acme", nul, base, nil)), `use sign-in code: email "a\x00b": `},
			{"reassign contact", second(s.ReassignContact(ctx, "acme", nul, "c")), `reassign contact: from "a\x00b": `},
			{"append audit: detail", s.AppendAudit(ctx, withEvent(func(e *iam.AuditEvent) { e.Detail = nul })),
				`append audit event: detail "a\x00b": `},
			{"list audit", second(s.ListAudit(ctx, nul, nil, "", 10)), `list audit events: tenant "a\x00b": `},
		}
		for _, c := range checks {
			want := c.want + ErrNULText.Error()
			if !errors.Is(c.err, ErrNULText) || c.err.Error() != want {
				t.Errorf("%s: err = %v, want ErrNULText: %s", c.name, c.err, want)
			}
		}
		if n, err := s.CountUsers(ctx, "acme"); err != nil || n != 1 {
			t.Errorf("users = %d, %v; want 1", n, err)
		}
		if got, err := s.GetUser(ctx, "acme", u.ID); err != nil || !cmp.Equal(u, got) {
			t.Errorf("user after the refusals = %+v, %v; want it untouched", got, err)
		}
		if n, err := s.CountAPIKeys(ctx); err != nil || n != 0 {
			t.Errorf("keys = %d, %v; want 0", n, err)
		}
		if _, err := s.GetSession(ctx, "acme", id(4)); !errors.Is(err, iam.ErrNotFound) {
			t.Errorf("session with a NUL: %v, want ErrNotFound (not written)", err)
		}
		if page, err := s.ListAudit(ctx, "acme", nil, "", 10); err != nil || len(page) != 0 {
			t.Errorf("audit events = %d, %v; want none", len(page), err)
		}
	})
}

func TestLimits(t *testing.T) {
	contract(t, func(t *testing.T, s iam.Store) {
		for name, err := range map[string]error{
			"ListUsers":           second(s.ListUsers(ctx, "acme", "", 0)),
			"ListAPIKeys":         second(s.ListAPIKeys(ctx, "acme", "", -1)),
			"ListSessions":        second(s.ListSessions(ctx, "acme", "u", "", base, 0)),
			"ListAudit":           second(s.ListAudit(ctx, "acme", nil, "", 0)),
			"DeleteSessions":      second(s.DeleteSessions(ctx, base, 0)),
			"DeleteAudit":         second(s.DeleteAudit(ctx, base, 0)),
			"DeleteSignInCodes":   second(s.DeleteSignInCodes(ctx, base, 0)),
			"ListContactSessions": second(s.ListContactSessions(ctx, "acme", "c", "", base, 0)),
		} {
			if err == nil || !strings.Contains(err.Error(), "must be > 0") {
				t.Errorf("%s with a limit <= 0: err = %v, want one naming the limit", name, err)
			}
		}
	})
}

// TestReopen: the migrations run on every open and change nothing the
// second time; the data is still there, and two stores can share the
// database, as two replicas.
func TestReopen(t *testing.T) {
	for _, e := range engines {
		t.Run(e.Name, func(t *testing.T) {
			connect := e.Fresh(t)
			first := connect(t)
			u := mustCreateUser(t, first, user("acme", 1))
			if err := first.Close(); err != nil {
				t.Fatal(err)
			}
			second := connect(t)
			got, err := second.GetUser(ctx, "acme", u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(u, got); diff != "" {
				t.Errorf("user after reopening (-want +got):\n%s", diff)
			}
			if err := second.Ping(ctx); err != nil {
				t.Errorf("Ping: %v", err)
			}
			third := connect(t)
			mustCreateUser(t, third, user("acme", 2))
			if n, err := second.CountUsers(ctx, "acme"); err != nil || n != 2 {
				t.Errorf("users seen by the second store = %d, %v; want 2", n, err)
			}
		})
	}
}

// TestTables: the migrations make only iam_* tables (and the shared
// schema_migrations), so the service can share a database with the
// others, and record themselves under the scope "iam".
func TestTables(t *testing.T) {
	contract(t, func(t *testing.T, s iam.Store) {
		var tables, scopes []string
		switch s := s.(type) {
		case *SQLite:
			tables = sqliteStrings(t, s, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
			scopes = sqliteStrings(t, s, `SELECT DISTINCT scope FROM schema_migrations`)
		case *Postgres:
			tables = pgStrings(t, s, `SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1`)
			scopes = pgStrings(t, s, `SELECT DISTINCT scope FROM schema_migrations`)
		}
		want := []string{"iam_api_keys", "iam_audit_events", "iam_sessions", "iam_sign_in_codes", "iam_users", "schema_migrations"}
		if diff := cmp.Diff(want, tables); diff != "" {
			t.Errorf("tables (-want +got):\n%s", diff)
		}
		if !slices.Equal(scopes, []string{"iam"}) {
			t.Errorf("migration scopes = %v, want [iam]", scopes)
		}
	})
}

func sqliteStrings(t *testing.T, s *SQLite, query string) []string {
	t.Helper()
	rows, err := s.db.Read.QueryContext(ctx, query)
	if err != nil {
		t.Fatal(err)
	}
	out, err := collect(rows, func(r scanner) (string, error) {
		var v string
		return v, r.Scan(&v)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func pgStrings(t *testing.T, s *Postgres, query string) []string {
	t.Helper()
	rows, err := s.pool.Query(ctx, query)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOpen(t *testing.T) {
	pgtest.CheckOpen(t, cluster, Open, "iam.db",
		func(s iam.Store) bool { _, ok := s.(*SQLite); return ok },
		func(s iam.Store) bool { _, ok := s.(*Postgres); return ok })
}
