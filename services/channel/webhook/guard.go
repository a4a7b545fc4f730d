package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A rule is a class of addresses no webhook may reach: a receiver inside
// the desk's own network would let whoever may create a webhook make
// requests from inside it (server-side request forgery).
type rule struct {
	// name is what errors call the rule.
	name string
	// article goes before name in a sentence ("a", "an").
	article  string
	prefixes []netip.Prefix
	// private rules give way to a tenant's allowPrivateNetworks; the
	// others never do.
	private bool
}

func prefixes(ps ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ps))
	for i, p := range ps {
		out[i] = netip.MustParsePrefix(p)
	}
	return out
}

// rules are checked in order: the first that holds an address names it
// (169.254.169.254 is link-local too, but the metadata rule is the one
// that matters, and it never gives way).
var rules = []rule{
	{"cloud metadata", "a", prefixes(
		"169.254.169.254/32", // AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle...
		"169.254.170.2/32",   // AWS ECS task metadata
		"100.100.100.200/32", // Alibaba Cloud
		"fd00:ec2::254/128",  // AWS over IPv6
	), false},
	{"unspecified", "an", prefixes("0.0.0.0/8", "::/128"), false},
	{"multicast", "a", prefixes("224.0.0.0/4", "ff00::/8"), false},
	{"reserved", "a", prefixes(
		"240.0.0.0/4", // and the broadcast address
		"192.0.0.0/24", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "198.18.0.0/15",
		"100::/64", "2001:db8::/32",
	), false},
	{"loopback", "a", prefixes("127.0.0.0/8", "::1/128"), true},
	{"link-local", "a", prefixes("169.254.0.0/16", "fe80::/10"), true},
	{"private", "a", prefixes("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"), true},
	{"carrier-grade NAT", "a", prefixes("100.64.0.0/10"), true},
}

// IPv6 ranges that carry an IPv4 address, which is checked too:
// NAT64 (64:ff9b::/96, the address in the last 32 bits), 6to4
// (2002::/16, in bits 16 to 48) and the deprecated IPv4-compatible
// addresses (::/96).
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
	v4compat  = netip.MustParsePrefix("::/96")
)

// RefusedError is an address a webhook may not reach, and the rule that
// refuses it.
type RefusedError struct {
	Addr netip.Addr
	// Rule names the class of addresses: "loopback", "cloud metadata"...
	Rule    string
	article string
	// Private is true when the tenant's allowPrivateNetworks would allow
	// the address.
	Private bool
}

// Permanent says that no retry reaches the address: callers that retry
// what fails (the SLA webhook action) give up on it at once.
func (e *RefusedError) Permanent() bool { return true }

func (e *RefusedError) Error() string {
	if e.Private {
		return fmt.Sprintf("%s is %s %s address (rule %q: refused unless the tenant sets spec.channels.webhooks.allowPrivateNetworks)", e.Addr, e.article, e.Rule, e.Rule)
	}
	return fmt.Sprintf("%s is %s %s address (rule %q: never a webhook's target)", e.Addr, e.article, e.Rule, e.Rule)
}

// Guard decides which addresses webhooks may reach.
type Guard struct {
	// AllowPrivate lets loopback, link-local, private and carrier-grade
	// NAT addresses through (a tenant's allowPrivateNetworks).
	AllowPrivate bool
	// Resolver resolves host names for CheckURL; nil is net.DefaultResolver.
	Resolver *net.Resolver
}

// Check returns a *RefusedError when a may not be reached, else nil.
func (g Guard) Check(a netip.Addr) error {
	a = a.Unmap().WithZone("")
	if err := g.check(a); err != nil {
		return err
	}
	if v4, ok := embeddedV4(a); ok {
		if err := g.check(v4); err != nil {
			return err
		}
	}
	return nil
}

func (g Guard) check(a netip.Addr) error {
	for _, r := range rules {
		for _, p := range r.prefixes {
			if p.Contains(a) {
				if r.private && g.AllowPrivate {
					return nil
				}
				return &RefusedError{Addr: a, Rule: r.name, article: r.article, Private: r.private}
			}
		}
	}
	return nil
}

// embeddedV4 is the IPv4 address an IPv6 address of a translating range
// carries.
func embeddedV4(a netip.Addr) (netip.Addr, bool) {
	if !a.Is6() {
		return netip.Addr{}, false
	}
	b := a.As16()
	switch {
	case nat64.Contains(a), v4compat.Contains(a) && a != netip.IPv6Unspecified() && a != netip.IPv6Loopback():
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFour.Contains(a):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// Control is a net.Dialer's Control hook: it refuses a connection to an
// address Check refuses. It runs after the name is resolved, for the
// very address connected to, so a name that resolved to a public address
// when the webhook was written and to a private one now (DNS rebinding)
// is refused here.
func (g Guard) Control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook connection to %q: not an IP address and port", address)
	}
	if err := g.Check(ap.Addr()); err != nil {
		return fmt.Errorf("connection refused by the webhook address rules: %w", err)
	}
	return nil
}

// resolveTimeout bounds CheckURL's name resolution.
const resolveTimeout = 5 * time.Second

// CheckURL checks a receiver's URL: http or https, a host, no user
// information, and a host whose every address Check allows. It returns
// the URL parsed. Errors say what is wrong and what is accepted, without
// the field's name.
func (g Guard) CheckURL(ctx context.Context, raw string) (*url.URL, error) {
	const accepted = "accepted: an http or https URL whose host resolves to public addresses, e.g. https://hooks.example.com/kubedesk"
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%q is not a URL (%w); %s", raw, err, accepted)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	case "":
		return nil, fmt.Errorf("%q has no scheme; %s", raw, accepted)
	default:
		return nil, fmt.Errorf("%q: scheme %q is not accepted; %s", raw, u.Scheme, accepted)
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("%q has no host; %s", raw, accepted)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%q carries user information; accepted: a URL without it (the signature tells the receiver who sent a delivery)", raw)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 {
			return nil, fmt.Errorf("%q: port %s is not a TCP port; accepted: 1 to 65535", raw, p)
		}
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		if err := g.Check(a); err != nil {
			return nil, fmt.Errorf("%q: %w; %s", raw, err, accepted)
		}
		return u, nil
	}
	resolver := g.Resolver
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	addrs, err := resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) {
			err = errors.New(dnsErr.Err)
		}
		return nil, fmt.Errorf("%q: host %s does not resolve (%w); %s", raw, host, err, accepted)
	}
	for _, a := range addrs {
		if err := g.Check(a); err != nil {
			return nil, fmt.Errorf("%q: host %s resolves to an address webhooks may not reach: %w; %s", raw, host, err, accepted)
		}
	}
	return u, nil
}
