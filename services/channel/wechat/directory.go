package wechat

import (
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/kubedesk/kubedesk/services/channel/wechat/mp"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// Directory holds the tenants' Official Accounts: what the callback checks
// calls with, the API client replies and media go through, and the group
// tickets go to. It is read-only once made, so its users share it freely.
type Directory struct {
	byTenant map[string]*account
}

type account struct {
	callback Account
	client   *mp.Client
	group    string
}

var _ Accounts = (*Directory)(nil)

// NewDirectory makes the directory of accounts, by tenant ID, with their
// secrets read (tenant.Config.WeChat). Their API calls go through hc.
func NewDirectory(accounts map[string]tenant.WeChatAccount, hc *http.Client) (*Directory, error) {
	d := &Directory{byTenant: make(map[string]*account, len(accounts))}
	for id, a := range accounts {
		acct := &account{
			callback: Account{Tenant: id, Token: a.Token, Mode: Mode(a.Mode)},
			client:   &mp.Client{BaseURL: a.APIBaseURL, AppID: a.AppID, AppSecret: a.AppSecret, HTTP: hc},
			group:    a.Group,
		}
		if a.EncodingAESKey != "" {
			c, err := mp.NewCipher(a.EncodingAESKey, a.AppID)
			if err != nil {
				return nil, fmt.Errorf("HelpdeskTenant %s: spec.channels.wechat.encodingAESKey: %w", id, err)
			}
			acct.callback.Cipher = c
		}
		d.byTenant[id] = acct
	}
	return d, nil
}

// Tenants lists the tenants with an account, sorted.
func (d *Directory) Tenants() []string { return slices.Sorted(maps.Keys(d.byTenant)) }

// Account implements Accounts.
func (d *Directory) Account(tenantID string) (Account, bool) {
	a, ok := d.byTenant[tenantID]
	if !ok {
		return Account{}, false
	}
	return a.callback, true
}

// Sender is the tenant's account as Outbound sends with it.
func (d *Directory) Sender(tenantID string) (Sender, bool) {
	a, ok := d.byTenant[tenantID]
	if !ok {
		return nil, false
	}
	return a.client, true
}

// Media is the tenant's account as the worker fetches media with it.
func (d *Directory) Media(tenantID string) (MediaSource, bool) {
	a, ok := d.byTenant[tenantID]
	if !ok {
		return nil, false
	}
	return a.client, true
}

// Group is the group the tenant's WeChat tickets go to; "" for none.
func (d *Directory) Group(tenantID string) string {
	if a, ok := d.byTenant[tenantID]; ok {
		return a.group
	}
	return ""
}
