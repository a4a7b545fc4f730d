package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/iam"
	iamstore "github.com/kubedesk/kubedesk/services/iam/store"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/config"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// apikey runs `kubedesk apikey create`: it makes an API key in the
// identity store the --data-dir/--database-url flags name (as serve's do)
// and prints the secret alone on stdout, for scripts:
//
//	KEY=$(kubedesk apikey create --tenant acme --role integration --name crm)
func apikey(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		_, _ = io.WriteString(stderr, "usage: kubedesk apikey create --tenant T --role R --name N [--act-for a,b] [--data-dir D | --database-url URL]\n")
		return errors.New(`apikey: accepted subcommands: create`)
	}
	defaults := config.DefaultCommon()
	fs := flag.NewFlagSet("apikey create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		tenantID = fs.String("tenant", defaults.DefaultTenant, "tenant the key belongs to")
		roleName = fs.String("role", "integration", "role of the key: admin, supervisor, agent or integration")
		name     = fs.String("name", "", "display name of the key (required)")
		actFor   = fs.String("act-for", "", `other tenants a platform-admin key may act for, comma-separated, or "*" for all`)
		dataDir  = fs.String("data-dir", envOr(getenv, config.EnvName("data-dir"), defaults.DataDir), "directory of the embedded storage (as serve's)")
		dbURL    = fs.String("database-url", getenv(config.EnvName("database-url")), "PostgreSQL URL (as serve's); empty means SQLite in --data-dir")
	)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if err := tenant.Validate(*tenantID); err != nil {
		return fmt.Errorf("--tenant: %w", err)
	}
	role, ok := auth.ParseRole(*roleName)
	if !ok || role == iamv1.Role_ROLE_CUSTOMER || role == iamv1.Role_ROLE_SERVICE {
		return fmt.Errorf("--role: %q is not a key role; accepted: admin, supervisor, agent, integration", *roleName)
	}
	if strings.TrimSpace(*name) == "" {
		return errors.New("--name: is required; accepted: a display name such as \"CRM sync\"")
	}
	var tenants []string
	for t := range strings.SplitSeq(*actFor, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		if t != "*" {
			if err := tenant.Validate(t); err != nil {
				return fmt.Errorf("--act-for: %w", err)
			}
		}
		tenants = append(tenants, t)
	}
	if len(tenants) > 0 && role != iamv1.Role_ROLE_ADMIN {
		return fmt.Errorf("--act-for: only an admin key may act for other tenants (--role=%s)", *roleName)
	}

	st, err := iamstore.Open(ctx, *dbURL, *dataDir)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now()
	secret, key, err := iam.CreateKey(ctx, st, *tenantID, role, *name, tenants, now)
	if err != nil {
		return err
	}
	_, _ = fmt.Fprintf(stderr, "created API key %s (%s, role %s, tenant %s)\n", key.ID, key.Prefix, *roleName, *tenantID)
	_, err = fmt.Fprintln(stdout, secret)
	return err
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}
