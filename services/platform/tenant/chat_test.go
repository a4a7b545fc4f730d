package tenant

import (
	"strings"
	"testing"
	"time"
)

func TestChatSettings(t *testing.T) {
	for _, tt := range []struct {
		name, spec string
		want       ChatSettings
		err        string
	}{
		{"defaults", "  displayName: Acme\n", ChatSettings{OfferWait: 2 * time.Minute}, ""},
		{"set", "  channels:\n    chat: {group: 在线客服, offerWait: 30s}\n", ChatSettings{Group: "在线客服", OfferWait: 30 * time.Second}, ""},
		{"too short a wait", "  channels:\n    chat: {offerWait: 1s}\n", ChatSettings{},
			"HelpdeskTenant acme: spec.channels.chat.offerWait: 1s; accepted: from 5s to 24h0m0s"},
		{"too long a wait", "  channels:\n    chat: {offerWait: 25h}\n", ChatSettings{},
			"HelpdeskTenant acme: spec.channels.chat.offerWait: 25h0m0s; accepted: from 5s to 24h0m0s"},
		{"too long a group", "  channels:\n    chat: {group: " + strings.Repeat("组", 201) + "}\n", ChatSettings{},
			"HelpdeskTenant acme: spec.channels.chat.group: has 201 characters; accepted: at most 200"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := FromDocument(tenantDoc(tt.spec))
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Chat(); got != tt.want {
				t.Errorf("Chat() = %+v, want %+v", got, tt.want)
			}
		})
	}
}
