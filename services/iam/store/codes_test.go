package store

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubedesk/kubedesk/services/iam"
)

// code is the n-th test sign-in code of an address: its digest stands for
// the code "secret-n" (the store compares nothing itself; match does).
func code(tenant, email string, n int) iam.SignInCode {
	return iam.SignInCode{
		Tenant:       tenant,
		ID:           id(n),
		Email:        email,
		ContactID:    fmt.Sprintf("contact-%d", n),
		DisplayName:  "王芳",
		Locale:       "zh-CN",
		Digest:       fmt.Sprintf("%064x", 2_000_000+n),
		AttemptsLeft: 5,
		CreateTime:   base,
		ExpireTime:   base.Add(10 * time.Minute),
	}
}

func storedCode(c iam.SignInCode) iam.SignInCode {
	c.Email = strings.ToLower(c.Email)
	c.CreateTime, c.ExpireTime, c.UsedTime = us(c.CreateTime), us(c.ExpireTime), us(c.UsedTime)
	return c
}

// digestIs is a match that accepts the code whose digest is d, counting
// its calls.
func digestIs(d string, calls *int) func(iam.SignInCode) bool {
	return func(c iam.SignInCode) bool {
		*calls++
		return c.Digest == d
	}
}

func mustCreateCode(t *testing.T, s iam.Store, c iam.SignInCode) iam.SignInCode {
	t.Helper()
	if err := s.CreateSignInCode(ctx, c); err != nil {
		t.Fatalf("CreateSignInCode(%s): %v", c.ID, err)
	}
	return storedCode(c)
}

// TestSignInCodes: a code is found by its address in any case, used once,
// and not after it expired; the tenant is part of the address.
func TestSignInCodes(t *testing.T) {
	contract(t, func(t *testing.T, s iam.Store) {
		c := mustCreateCode(t, s, code("acme", "Wang@Example.COM", 1))
		now := base.Add(time.Minute)
		calls := 0

		for name, try := range map[string]struct{ tenant, email string }{
			"another tenant":  {"globex", "wang@example.com"},
			"another address": {"acme", "li@example.com"},
		} {
			if _, err := s.UseSignInCode(ctx, try.tenant, try.email, now, digestIs(c.Digest, &calls)); !errors.Is(err, iam.ErrNotFound) {
				t.Errorf("%s: UseSignInCode = %v, want ErrNotFound", name, err)
			}
		}
		if calls != 0 {
			t.Errorf("match was called %d times without a code", calls)
		}

		got, err := s.UseSignInCode(ctx, "acme", "WANG@example.com", now, digestIs(c.Digest, &calls))
		if err != nil {
			t.Fatal(err)
		}
		want := c
		want.UsedTime = us(now)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("used code (-want +got):\n%s", diff)
		}
		checkUTC(t, got.CreateTime, got.ExpireTime, got.UsedTime)

		// Once only.
		calls = 0
		if _, err := s.UseSignInCode(ctx, "acme", "wang@example.com", now, digestIs(c.Digest, &calls)); !errors.Is(err, iam.ErrNotFound) || calls != 0 {
			t.Errorf("second use = %v (match called %d times), want ErrNotFound without a call", err, calls)
		}

		// Not at or after its expiry.
		late := mustCreateCode(t, s, code("acme", "li@example.com", 2))
		for _, at := range []time.Time{late.ExpireTime, late.ExpireTime.Add(time.Hour)} {
			if _, err := s.UseSignInCode(ctx, "acme", "li@example.com", at, digestIs(late.Digest, &calls)); !errors.Is(err, iam.ErrNotFound) {
				t.Errorf("use at %v (expiry %v) = %v, want ErrNotFound", at, late.ExpireTime, err)
			}
		}
		if _, err := s.UseSignInCode(ctx, "acme", "li@example.com", late.ExpireTime.Add(-time.Microsecond), digestIs(late.Digest, &calls)); err != nil {
			t.Errorf("use just before its expiry: %v", err)
		}
	})
}

// TestSignInCodeAttempts: each wrong code spends an attempt; a code with
// none left is dead, even for the right code.
func TestSignInCodeAttempts(t *testing.T) {
	contract(t, func(t *testing.T, s iam.Store) {
		c := mustCreateCode(t, s, code("acme", "wang@example.com", 1))
		now := base.Add(time.Minute)
		calls := 0
		for i := range 5 {
			if _, err := s.UseSignInCode(ctx, "acme", "wang@example.com", now, digestIs("wrong", &calls)); !errors.Is(err, iam.ErrWrongCode) {
				t.Fatalf("wrong code %d = %v, want ErrWrongCode", i+1, err)
			}
		}
		if calls != 5 {
			t.Errorf("match called %d times for 5 attempts", calls)
		}
		if _, err := s.UseSignInCode(ctx, "acme", "wang@example.com", now, digestIs(c.Digest, &calls)); !errors.Is(err, iam.ErrNotFound) {
			t.Errorf("the right code after 5 wrong ones = %v, want ErrNotFound (spent)", err)
		}

		// The right code within the attempts works.
		c2 := mustCreateCode(t, s, code("acme", "li@example.com", 2))
		for range 4 {
			if _, err := s.UseSignInCode(ctx, "acme", "li@example.com", now, digestIs("wrong", &calls)); !errors.Is(err, iam.ErrWrongCode) {
				t.Fatal(err)
			}
		}
		got, err := s.UseSignInCode(ctx, "acme", "li@example.com", now, digestIs(c2.Digest, &calls))
		if err != nil {
			t.Fatalf("the right code at the last attempt: %v", err)
		}
		if got.AttemptsLeft != 1 {
			t.Errorf("attempts left %d, want 1", got.AttemptsLeft)
		}
	})
}

// TestSignInCodeReplaced: a new code for an address replaces the old one,
// attempts and all; codes of other addresses stay.
func TestSignInCodeReplaced(t *testing.T) {
	contract(t, func(t *testing.T, s iam.Store) {
		old := mustCreateCode(t, s, code("acme", "wang@example.com", 1))
		other := mustCreateCode(t, s, code("acme", "li@example.com", 2))
		globex := mustCreateCode(t, s, code("globex", "wang@example.com", 3))
		now := base.Add(time.Minute)
		calls := 0
		for range 3 {
			_, _ = s.UseSignInCode(ctx, "acme", "wang@example.com", now, digestIs("wrong", &calls))
		}
		fresh := code("acme", "WANG@example.com", 4)
		fresh = mustCreateCode(t, s, fresh)
		if _, err := s.UseSignInCode(ctx, "acme", "wang@example.com", now, digestIs(old.Digest, &calls)); !errors.Is(err, iam.ErrWrongCode) {
			t.Errorf("the replaced code = %v, want ErrWrongCode (the new one is the address's)", err)
		}
		got, err := s.UseSignInCode(ctx, "acme", "wang@example.com", now, digestIs(fresh.Digest, &calls))
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != fresh.ID || got.AttemptsLeft != 4 {
			t.Errorf("code %s with %d attempts left, want %s with 4 (its own attempts)", got.ID, got.AttemptsLeft, fresh.ID)
		}
		for _, c := range []iam.SignInCode{other, globex} {
			if _, err := s.UseSignInCode(ctx, c.Tenant, c.Email, now, digestIs(c.Digest, &calls)); err != nil {
				t.Errorf("code %s of %s/%s after another address's new code: %v", c.ID, c.Tenant, c.Email, err)
			}
		}
	})
}

// TestSignInCodeUsedOnce: of many parallel sign-ins with the right code,
// one gets it.
func TestSignInCodeUsedOnce(t *testing.T) {
	contract(t, func(t *testing.T, s iam.Store) {
		c := mustCreateCode(t, s, code("acme", "wang@example.com", 1))
		const n = 8
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			won  int
			errs []error
		)
		for range n {
			wg.Go(func() {
				_, err := s.UseSignInCode(ctx, "acme", "wang@example.com", base.Add(time.Minute), func(got iam.SignInCode) bool {
					return got.Digest == c.Digest
				})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case !errors.Is(err, iam.ErrNotFound):
					errs = append(errs, err)
				}
			})
		}
		wg.Wait()
		if won != 1 || len(errs) > 0 {
			t.Errorf("%d of %d parallel sign-ins used the code (errors %v); want exactly 1, the others ErrNotFound", won, n, errs)
		}
	})
}

// TestCodeRefusals: what the table cannot keep is refused, naming the
// field, and nothing is written.
func TestCodeRefusals(t *testing.T) {
	contract(t, func(t *testing.T, s iam.Store) {
		for name, edit := range map[string]func(*iam.SignInCode){
			"no expiry":     func(c *iam.SignInCode) { c.ExpireTime = time.Time{} },
			"no attempts":   func(c *iam.SignInCode) { c.AttemptsLeft = 0 },
			"no contact":    func(c *iam.SignInCode) { c.ContactID = "" },
			"no digest":     func(c *iam.SignInCode) { c.Digest = "" },
			"NUL in a name": func(c *iam.SignInCode) { c.DisplayName = "a\x00b" },
		} {
			c := code("acme", "wang@example.com", 1)
			edit(&c)
			if err := s.CreateSignInCode(ctx, c); err == nil || !strings.HasPrefix(err.Error(), "create sign-in code: ") {
				t.Errorf("%s: CreateSignInCode = %v, want a refusal", name, err)
			}
		}
		calls := 0
		if _, err := s.UseSignInCode(ctx, "acme", "wang@example.com", base, digestIs("", &calls)); !errors.Is(err, iam.ErrNotFound) {
			t.Errorf("after the refusals: %v, want ErrNotFound (nothing written)", err)
		}
		if _, err := s.UseSignInCode(ctx, "acme", "a\x00b", base, digestIs("", &calls)); !errors.Is(err, ErrNULText) {
			t.Errorf("UseSignInCode with NUL = %v, want ErrNULText", err)
		}
	})
}

// TestDeleteSignInCodes: the janitor removes expired codes in batches and
// leaves live ones.
func TestDeleteSignInCodes(t *testing.T) {
	contract(t, func(t *testing.T, s iam.Store) {
		for i := range 5 {
			c := code("acme", fmt.Sprintf("user%d@example.com", i), i)
			c.ExpireTime = base.Add(time.Duration(i) * time.Minute)
			mustCreateCode(t, s, c)
		}
		now := base.Add(2*time.Minute + time.Second) // codes 0, 1 and 2 expired
		total := 0
		for {
			n, err := s.DeleteSignInCodes(ctx, now, 2)
			if err != nil {
				t.Fatal(err)
			}
			total += n
			if n < 2 {
				break
			}
		}
		if total != 3 {
			t.Errorf("deleted %d codes, want 3", total)
		}
		calls := 0
		for i := range 5 {
			_, err := s.UseSignInCode(ctx, "acme", fmt.Sprintf("user%d@example.com", i), base, func(iam.SignInCode) bool { calls++; return false })
			if i <= 2 && !errors.Is(err, iam.ErrNotFound) || i > 2 && !errors.Is(err, iam.ErrWrongCode) {
				t.Errorf("code %d after the janitor: %v", i, err)
			}
		}
	})
}

// TestCustomerSessions: a customer's session keeps its contact and what
// its principal shows; a contact's sessions are listed apart from users'
// and move, with its pending codes, to another contact.
func TestCustomerSessions(t *testing.T) {
	contract(t, func(t *testing.T, s iam.Store) {
		now := base.Add(time.Hour)
		customer := func(contact string, n int) iam.Session {
			ses := session("acme", "", n)
			ses.ContactID, ses.Email, ses.DisplayName, ses.Locale = contact, "Wang@Example.com", "王芳", "zh-CN"
			ses.ExpireTime = now.Add(time.Hour)
			return ses
		}
		a1 := mustCreateSession(t, s, customer("c-a", 1))
		a2 := mustCreateSession(t, s, customer("c-a", 2))
		b := mustCreateSession(t, s, customer("c-b", 3))
		user := session("acme", id(1000), 4)
		user.ExpireTime = now.Add(time.Hour)
		mustCreateSession(t, s, user)
		globex := customer("c-a", 5)
		globex.Tenant = "globex"
		mustCreateSession(t, s, globex)

		got, err := s.LookupSession(ctx, a1.Digest)
		if err != nil {
			t.Fatal(err)
		}
		if got.Email != "wang@example.com" {
			t.Errorf("email %q, want it lower-cased", got.Email)
		}
		if diff := cmp.Diff(a1, got); diff != "" {
			t.Errorf("customer session (-want +got):\n%s", diff)
		}
		list := func(contact string) []string {
			t.Helper()
			rows, err := s.ListContactSessions(ctx, "acme", contact, "", now, 10)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range rows {
				ids = append(ids, r.ID)
			}
			return ids
		}
		if diff := cmp.Diff([]string{a2.ID, a1.ID}, list("c-a")); diff != "" {
			t.Errorf("sessions of c-a (-want +got):\n%s", diff)
		}
		if _, err := s.ListContactSessions(ctx, "acme", "", "", now, 10); err == nil {
			t.Error("ListContactSessions of no contact succeeded; it would list every user's session")
		}
		if _, err := s.ListSessions(ctx, "acme", "", "", now, 10); err == nil {
			t.Error("ListSessions of no user succeeded; it would list every customer's session")
		}

		// A pending code of c-a moves too.
		c := code("acme", "wang@example.com", 6)
		c.ContactID = "c-a"
		mustCreateCode(t, s, c)
		n, err := s.ReassignContact(ctx, "acme", "c-a", "c-b")
		if err != nil || n != 2 {
			t.Fatalf("ReassignContact = %d, %v; want 2", n, err)
		}
		if diff := cmp.Diff([]string{b.ID, a2.ID, a1.ID}, list("c-b")); diff != "" {
			t.Errorf("sessions of c-b after the move (-want +got):\n%s", diff)
		}
		if ids := list("c-a"); len(ids) != 0 {
			t.Errorf("c-a still has sessions %v", ids)
		}
		if got, err := s.LookupSession(ctx, globex.Digest); err != nil || got.ContactID != "c-a" {
			t.Errorf("globex's session of c-a: %+v, %v; want it untouched", got, err)
		}
		used, err := s.UseSignInCode(ctx, "acme", "wang@example.com", base, func(iam.SignInCode) bool { return true })
		if err != nil || used.ContactID != "c-b" {
			t.Errorf("the pending code after the move: contact %q, %v; want c-b", used.ContactID, err)
		}
		for _, bad := range [][2]string{{"", "c-b"}, {"c-b", ""}} {
			if _, err := s.ReassignContact(ctx, "acme", bad[0], bad[1]); err == nil {
				t.Errorf("ReassignContact(%q, %q) succeeded; a user's session names no contact", bad[0], bad[1])
			}
		}
		if got, err := s.GetSession(ctx, "acme", user.ID); err != nil || got.ContactID != "" {
			t.Errorf("a user's session after the moves: %+v, %v", got, err)
		}
	})
}
