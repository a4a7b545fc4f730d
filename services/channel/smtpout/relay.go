package smtpout

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// TLS modes of a Relay, as given by the tls query parameter of an smtp://
// URL (or implied by smtps://).
const (
	// TLSStartTLS upgrades the connection with STARTTLS when the relay offers it
	// and goes on in clear text when it does not (the default for smtp://).
	TLSStartTLS = "starttls"
	// TLSRequiredStartTLS upgrades with STARTTLS and fails when it is not offered.
	TLSRequiredStartTLS = "required-starttls"
	// TLSNone never uses TLS.
	TLSNone = "none"
	// TLSImplicit is smtps://: TLS from the first byte.
	TLSImplicit = "implicit"
)

// Default ports by TLS mode.
const (
	portSubmission = "587"
	portSMTP       = "25"
	portSMTPS      = "465"
)

// relayForms is what ParseRelay accepts, quoted in its errors.
const relayForms = "smtp://[user[:password]@]host[:port][?tls=starttls|required-starttls|none] or smtps://[user[:password]@]host[:port]"

// Relay is where mail goes out, parsed from a URL:
//
//	smtp://[user[:password]@]host[:port][?tls=starttls|none|required-starttls]   (port default 587, 25 for tls=none)
//	smtps://[user[:password]@]host[:port]                                       (implicit TLS, port default 465)
//
// tls=starttls (the default for smtp://) uses STARTTLS when the relay offers
// it; required-starttls fails when it is not offered; none never uses TLS.
// The query parameter insecure_skip_verify=true accepts any certificate (for
// test relays with self-signed certificates).
type Relay struct {
	// URL is the parsed URL, password included: print Relay.String instead.
	URL *url.URL
	// Host is the address to dial, host:port, with the port defaulted.
	Host string
	// TLSMode is one of TLSStartTLS, TLSRequiredStartTLS, TLSNone, TLSImplicit.
	TLSMode string
	// Username and Password authenticate (AUTH PLAIN, or LOGIN when the relay
	// offers only that) when Username is set.
	Username, Password string
	// InsecureSkipVerify accepts any server certificate.
	InsecureSkipVerify bool
}

// ParseRelay parses a relay URL. Its errors start with field (the flag or
// configuration key the URL came from, e.g. "--smtp-relay" or
// "channel.email.relay") and say what is accepted; they never contain the
// password.
func ParseRelay(field, raw string) (Relay, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return Relay{}, fmt.Errorf("%s: is empty; accepted: %s", field, relayForms)
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return Relay{}, fmt.Errorf("%s: is not a URL; accepted: %s", field, relayForms)
	}
	scheme = strings.ToLower(scheme)
	if scheme != "smtp" && scheme != "smtps" {
		return Relay{}, fmt.Errorf("%s: scheme %q is not supported; accepted: %s", field, scheme, relayForms)
	}
	// An unescaped '/', '?' or '#' in the password would make url.Parse read
	// part of it as path, query or fragment and quote it in an error.
	if i := strings.IndexAny(rest, "/?#"); i >= 0 && strings.Contains(rest[i:], "@") {
		return Relay{}, fmt.Errorf("%s: user or password contains '/', '?' or '#'; accepted: percent-encoded (%%2F, %%3F, %%23)", field)
	}
	// The port is checked before url.Parse, whose errors quote the whole URL
	// (password included) and accept any number of digits.
	if port, ok := rawPort(rest); ok {
		if err := checkPort(port); err != nil {
			return Relay{}, fmt.Errorf("%s: %w", field, err)
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Relay{}, fmt.Errorf("%s: is not a valid URL; accepted: %s", field, relayForms)
	}
	u.Scheme = scheme
	r := Relay{URL: u}
	if u.Opaque != "" || (u.Path != "" && u.Path != "/") {
		return Relay{}, fmt.Errorf("%s: a path (%q) is not accepted; accepted: %s", field, u.EscapedPath(), relayForms)
	}
	if u.Fragment != "" {
		return Relay{}, fmt.Errorf("%s: a fragment (#...) is not accepted; accepted: %s", field, relayForms)
	}
	host := u.Hostname()
	if host == "" {
		return Relay{}, fmt.Errorf("%s: host is required; accepted: %s", field, relayForms)
	}
	if u.User != nil {
		r.Username = u.User.Username()
		r.Password, _ = u.User.Password()
		if r.Username == "" {
			return Relay{}, fmt.Errorf("%s: user is empty; accepted: user[:password]@ before the host, or no credentials at all", field)
		}
	}
	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Relay{}, fmt.Errorf("%s: query %q is malformed; accepted: ?tls=starttls|required-starttls|none&insecure_skip_verify=true", field, u.RawQuery)
	}
	for key, values := range query {
		if len(values) > 1 {
			return Relay{}, fmt.Errorf("%s: query parameter %q is given %d times; accepted: once", field, key, len(values))
		}
		switch key {
		case "tls", "insecure_skip_verify":
		default:
			return Relay{}, fmt.Errorf("%s: unknown query parameter %q; accepted: tls, insecure_skip_verify", field, key)
		}
	}
	if scheme == "smtps" {
		if query.Has("tls") {
			return Relay{}, fmt.Errorf("%s: tls=%s is not accepted with smtps:// (always implicit TLS); use smtp://...?tls=%s instead", field, query.Get("tls"), query.Get("tls"))
		}
		r.TLSMode = TLSImplicit
	} else {
		switch mode := query.Get("tls"); mode {
		case "", TLSStartTLS:
			r.TLSMode = TLSStartTLS
		case TLSRequiredStartTLS, TLSNone:
			r.TLSMode = mode
		default:
			return Relay{}, fmt.Errorf("%s: tls=%q is not a TLS mode; accepted: starttls (default), required-starttls, none", field, mode)
		}
	}
	if v := query.Get("insecure_skip_verify"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return Relay{}, fmt.Errorf("%s: insecure_skip_verify=%q is not a boolean; accepted: true or false", field, v)
		}
		r.InsecureSkipVerify = b
	}
	if r.TLSMode == TLSNone && r.Password != "" && !isLoopback(host) {
		return Relay{}, fmt.Errorf("%s: tls=none would send the password in clear text to %q; accepted: tls=starttls, tls=required-starttls or smtps:// (tls=none with a password only for localhost)", field, host)
	}
	port := u.Port()
	if port == "" {
		port = defaultPort(r.TLSMode)
	}
	r.Host = net.JoinHostPort(host, port)
	return r, nil
}

// String returns the URL with the password replaced by "xxxxx".
func (r Relay) String() string {
	if r.URL == nil {
		return ""
	}
	return r.URL.Redacted()
}

// serverName is the host name certificates are checked against.
func (r Relay) serverName() string {
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		return r.Host
	}
	return host
}

func defaultPort(mode string) string {
	switch mode {
	case TLSImplicit:
		return portSMTPS
	case TLSNone:
		return portSMTP
	default:
		return portSubmission
	}
}

// rawPort finds the port in the authority of rest (the URL after "://"),
// reporting whether a ":" introduced one.
func rawPort(rest string) (string, bool) {
	authority := rest
	if i := strings.IndexAny(authority, "/?#"); i >= 0 {
		authority = authority[:i]
	}
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		authority = authority[i+1:]
	}
	if strings.HasPrefix(authority, "[") {
		end := strings.Index(authority, "]")
		if end < 0 {
			return "", false
		}
		authority = authority[end+1:]
		if !strings.HasPrefix(authority, ":") {
			return "", false
		}
		return authority[1:], true
	}
	i := strings.LastIndex(authority, ":")
	if i < 0 {
		return "", false
	}
	return authority[i+1:], true
}

func checkPort(port string) error {
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || strings.HasPrefix(port, "+") {
		return fmt.Errorf("port %q is not a number; accepted: 1 to 65535, or none for the default (587 starttls, 25 none, 465 smtps)", port)
	}
	return nil
}

// isLoopback reports whether host names this machine: "localhost" or a
// loopback IP address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
