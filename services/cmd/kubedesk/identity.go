package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/iam"
	iamstore "github.com/kubedesk/kubedesk/services/iam/store"
	"github.com/kubedesk/kubedesk/services/platform/auth/oidc"
	"github.com/kubedesk/kubedesk/services/platform/gateway"
	"github.com/kubedesk/kubedesk/services/platform/module"
)

// initIAM opens the identity store, serves the identity services, and
// makes them this process's authenticator. On the first start of an
// empty store it writes the default tenant's first admin key.
func initIAM(ctx context.Context, cfg *Config, h *module.Host) (module.Parts, error) {
	var parts module.Parts
	st, err := iamstore.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return parts, fmt.Errorf("identity store: %w", err)
	}
	h.OnStop("identity store", func(context.Context) error { return st.Close() })
	opts := iam.Options{Log: h.Log}
	if cfg.IAM.OIDC.IssuerURL != "" {
		v, err := oidc.New(ctx, cfg.IAM.OIDC)
		if err != nil {
			return parts, err
		}
		opts.Tokens = v
	}
	srv := iam.NewServer(st, cfg.IAM, opts)
	srv.Register(h.GRPC.Server)
	h.UseIdentity(srv.Authenticator())
	if err := bootstrapKey(ctx, cfg, srv, h); err != nil {
		return parts, err
	}
	parts.Ready = append(parts.Ready, gateway.Check{Name: "identity store", Check: st.Ping})
	parts.Loops = append(parts.Loops, module.Loop{Name: "identity janitor", Run: srv.RunJanitor})
	return parts, nil
}

// bootstrapKey makes sure someone can sign in to a new installation: the
// key the operator generated (iam.bootstrapAdminKey, from a Secret) is
// registered; without one, the first start of an empty store writes an
// admin key of the default tenant to <data-dir>/admin.key. Where the key
// is gets logged, never the key.
func bootstrapKey(ctx context.Context, cfg *Config, srv *iam.Server, h *module.Host) error {
	if cfg.IAM.BootstrapAdminKey != "" {
		return srv.EnsureKey(ctx, cfg.DefaultTenant, iamv1.Role_ROLE_ADMIN, "bootstrap admin key", cfg.IAM.BootstrapAdminKey)
	}
	created, err := srv.Bootstrap(ctx, cfg.DefaultTenant, cfg.DataDir)
	if err != nil || created != "" {
		return err // Bootstrap logged where it wrote the key
	}
	path := filepath.Join(cfg.DataDir, iam.AdminKeyFile)
	if _, err := os.Stat(path); err == nil {
		h.Log.Info("the first admin API key is in "+path+`: curl -H "Authorization: Bearer $(cat `+path+`)" ...`, "tenant", cfg.DefaultTenant)
	}
	return nil
}
