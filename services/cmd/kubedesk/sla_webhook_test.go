package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/workflows/escalation"
)

// TestSLAWebhookAddressRules: an SLA policy's webhook action goes out
// under the rules of the tenant's webhooks: a loopback receiver is
// refused for good (no retry) unless the tenant allows private networks,
// and a redirect is not followed.
func TestSLAWebhookAddressRules(t *testing.T) {
	var hits, redirected atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { redirected.Add(1) }))
	defer elsewhere.Close()
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, elsewhere.URL, http.StatusFound)
			return
		}
		hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	tenants := map[string]tenant.Config{
		"acme":   {ID: "acme"},
		"globex": {ID: "globex", Spec: v1alpha1.HelpdeskTenantSpec{Channels: v1alpha1.ChannelsSpec{Webhooks: &v1alpha1.WebhooksChannelSpec{AllowPrivateNetworks: true}}}},
	}
	a := &escalation.Activities{HTTPFor: slaWebhookClients(tenants)}
	call := func(tenantID, url string) error {
		return a.CallWebhook(context.Background(), escalation.BreachInput{
			Tenant: tenantID, TicketID: "t1", Policy: "standard", Clock: escalation.FirstResponse, At: time.Now(),
			Action: v1alpha1.BreachAction{Type: v1alpha1.BreachWebhook, URL: url},
		})
	}

	err := call("acme", receiver.URL)
	var appErr *temporal.ApplicationError
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("acme's webhook to %s: %v, want it refused by the loopback rule", receiver.URL, err)
	}
	if !errors.As(err, &appErr) || !appErr.NonRetryable() {
		t.Errorf("refusal %v is retryable; no retry can reach the address", err)
	}
	if err := call("globex", receiver.URL); err != nil || hits.Load() != 1 {
		t.Fatalf("globex (private networks allowed): %v, %d hits; want delivered", err, hits.Load())
	}
	if err := call("globex", receiver.URL+"/moved"); err == nil || redirected.Load() != 0 {
		t.Errorf("a redirect: %v, %d requests to its target; want an error and none", err, redirected.Load())
	}
}
