package smtpout

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRelay(t *testing.T) {
	type want struct {
		Host, TLSMode, Username, Password string
		InsecureSkipVerify                bool
		String                            string
	}
	tests := []struct {
		name string
		raw  string
		want want
	}{
		{"starttls default port", "smtp://mail.example.com", want{Host: "mail.example.com:587", TLSMode: TLSStartTLS, String: "smtp://mail.example.com"}},
		{"credentials redacted", "smtp://kubedesk:s3cr%2Ft@mail.example.com:2587?tls=required-starttls", want{
			Host: "mail.example.com:2587", TLSMode: TLSRequiredStartTLS, Username: "kubedesk", Password: "s3cr/t",
			String: "smtp://kubedesk:xxxxx@mail.example.com:2587?tls=required-starttls",
		}},
		{"none defaults to 25", "smtp://relay.internal?tls=none", want{Host: "relay.internal:25", TLSMode: TLSNone, String: "smtp://relay.internal?tls=none"}},
		{"none with password on loopback", "smtp://u:p@127.0.0.1:2525?tls=none", want{Host: "127.0.0.1:2525", TLSMode: TLSNone, Username: "u", Password: "p", String: "smtp://u:xxxxx@127.0.0.1:2525?tls=none"}},
		{"smtps defaults to 465", "SMTPS://u:p@mail.example.com/", want{Host: "mail.example.com:465", TLSMode: TLSImplicit, Username: "u", Password: "p", String: "smtps://u:xxxxx@mail.example.com/"}},
		{"user without password", "smtp://apikey@mail.example.com", want{Host: "mail.example.com:587", TLSMode: TLSStartTLS, Username: "apikey", String: "smtp://apikey@mail.example.com"}},
		{"insecure skip verify", "smtp://localhost:1025?tls=starttls&insecure_skip_verify=true", want{Host: "localhost:1025", TLSMode: TLSStartTLS, InsecureSkipVerify: true, String: "smtp://localhost:1025?tls=starttls&insecure_skip_verify=true"}},
		{"ipv6", "smtp://[::1]:2525?tls=none", want{Host: "[::1]:2525", TLSMode: TLSNone, String: "smtp://[::1]:2525?tls=none"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRelay("--smtp-relay", tt.raw)
			if err != nil {
				t.Fatalf("ParseRelay(%q): %v", tt.raw, err)
			}
			got := want{r.Host, r.TLSMode, r.Username, r.Password, r.InsecureSkipVerify, r.String()}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseRelay(%q) (-want +got):\n%s", tt.raw, diff)
			}
		})
	}
}

func TestParseRelayErrors(t *testing.T) {
	const forms = "smtp://[user[:password]@]host[:port][?tls=starttls|required-starttls|none] or smtps://[user[:password]@]host[:port]"
	tests := []struct {
		name, raw, want string
	}{
		{"empty", " ", "--smtp-relay: is empty; accepted: " + forms},
		{"not a URL", "mail.example.com:587", "--smtp-relay: is not a URL; accepted: " + forms},
		{"unknown scheme", "http://u:hunter2@mail.example.com", `--smtp-relay: scheme "http" is not supported; accepted: ` + forms},
		{"bad tls mode", "smtp://u:hunter2@mail.example.com?tls=always", `--smtp-relay: tls="always" is not a TLS mode; accepted: starttls (default), required-starttls, none`},
		{"tls with smtps", "smtps://u:hunter2@mail.example.com?tls=none", "--smtp-relay: tls=none is not accepted with smtps:// (always implicit TLS); use smtp://...?tls=none instead"},
		{"port not a number", "smtp://u:hunter2@mail.example.com:abc", `--smtp-relay: port "abc" is not a number; accepted: 1 to 65535, or none for the default (587 starttls, 25 none, 465 smtps)`},
		{"port too big", "smtp://u:hunter2@mail.example.com:70000", `--smtp-relay: port "70000" is not a number; accepted: 1 to 65535, or none for the default (587 starttls, 25 none, 465 smtps)`},
		{"port zero", "smtp://mail.example.com:0", `--smtp-relay: port "0" is not a number; accepted: 1 to 65535, or none for the default (587 starttls, 25 none, 465 smtps)`},
		{"empty port", "smtp://mail.example.com:", `--smtp-relay: port "" is not a number; accepted: 1 to 65535, or none for the default (587 starttls, 25 none, 465 smtps)`},
		{"no host", "smtp://u:hunter2@:587", "--smtp-relay: host is required; accepted: " + forms},
		{"empty user", "smtp://:hunter2@mail.example.com", "--smtp-relay: user is empty; accepted: user[:password]@ before the host, or no credentials at all"},
		{"unknown parameter", "smtp://mail.example.com?auth=plain", `--smtp-relay: unknown query parameter "auth"; accepted: tls, insecure_skip_verify`},
		{"repeated parameter", "smtp://mail.example.com?tls=none&tls=starttls", `--smtp-relay: query parameter "tls" is given 2 times; accepted: once`},
		{"bad boolean", "smtp://mail.example.com?insecure_skip_verify=yes", `--smtp-relay: insecure_skip_verify="yes" is not a boolean; accepted: true or false`},
		{"path", "smtp://mail.example.com/inbox", `--smtp-relay: a path ("/inbox") is not accepted; accepted: ` + forms},
		{"clear text password", "smtp://u:hunter2@mail.example.com?tls=none", `--smtp-relay: tls=none would send the password in clear text to "mail.example.com"; accepted: tls=starttls, tls=required-starttls or smtps:// (tls=none with a password only for localhost)`},
		{"unescaped slash in password", "smtp://u:hun/ter2@mail.example.com", "--smtp-relay: user or password contains '/', '?' or '#'; accepted: percent-encoded (%2F, %3F, %23)"},
		{"unescaped hash in password", "smtp://u:hunter#2@mail.example.com:25", "--smtp-relay: user or password contains '/', '?' or '#'; accepted: percent-encoded (%2F, %3F, %23)"},
		{"bad escape", "smtp://u:hunter2%zz@mail.example.com", "--smtp-relay: is not a valid URL; accepted: " + forms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRelay("--smtp-relay", tt.raw)
			if err == nil {
				t.Fatalf("ParseRelay(%q): no error, want %q", tt.raw, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("ParseRelay(%q) error:\n got %q\nwant %q", tt.raw, err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter") {
				t.Errorf("ParseRelay(%q) error leaks the password: %q", tt.raw, err)
			}
		})
	}
}

func TestParseRelayFieldName(t *testing.T) {
	_, err := ParseRelay("channel.email.relay", "ftp://x")
	if err == nil || !strings.HasPrefix(err.Error(), `channel.email.relay: scheme "ftp"`) {
		t.Errorf("error %v does not start with the field name", err)
	}
}

// FuzzParseRelay checks that ParseRelay never panics and never puts the
// password in an error or in String.
func FuzzParseRelay(f *testing.F) {
	f.Add("smtp", "kubedesk", "s3cret-pw", "mail.example.com:587", "tls=starttls")
	f.Add("smtps", "u", "s3cret-pw", "[::1]", "")
	f.Add("smtp", "u", "p%41ssword", "h:99999", "tls=none")
	f.Add("smtp", "u", "pass/word", "h", "")
	f.Add("smtp", "u", "pass#word", "h:25", "insecure_skip_verify=1")
	f.Add("smtp", "", "password", "h", "tls=bad")
	f.Add("ftp", "u", "%zzpassword", "h:abc", "")
	f.Fuzz(func(t *testing.T, scheme, user, password, hostport, query string) {
		raw := scheme + "://" + user + ":" + password + "@" + hostport + "?" + query
		r, err := ParseRelay("relay", raw)
		if len(password) < 8 {
			return // short passwords turn up in any text by chance
		}
		// Text that holds the password anyway: the rest of the URL, or the
		// error that the same URL with another password gets.
		other := scheme + user + hostport + query
		if _, otherErr := ParseRelay("relay", scheme+"://"+user+":X@"+hostport+"?"+query); otherErr != nil {
			other += otherErr.Error()
		}
		if strings.Contains(other, password) {
			return
		}
		if err != nil {
			if strings.Contains(err.Error(), password) {
				t.Fatalf("ParseRelay(%q) error leaks the password: %v", raw, err)
			}
			return
		}
		if s := r.String(); strings.Contains(s, password) {
			t.Fatalf("ParseRelay(%q).String() = %q leaks the password", raw, s)
		}
	})
}
