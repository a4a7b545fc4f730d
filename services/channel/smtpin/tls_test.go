package smtpin

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"go.opentelemetry.io/otel/metric/noop"
)

// writeCert writes a self-signed certificate for mx.kubedesk.test and its
// key as PEM files in a temporary directory.
func writeCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "mx.kubedesk.test"},
		DNSNames:     []string{"mx.kubedesk.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestStartTLS(t *testing.T) {
	cfg := testConfig()
	cfg.TLSCertFile, cfg.TLSKeyFile = writeCert(t)
	st := newStore()
	ts := start(t, cfg, st)
	c := dial(t, ts.addr)
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Fatal("EHLO does not offer STARTTLS with a certificate configured")
	}
	roots := x509.NewCertPool()
	pemCert, _ := os.ReadFile(cfg.TLSCertFile)
	roots.AppendCertsFromPEM(pemCert)
	_ = c.Quit()
	c, err := smtp.DialStartTLS(ts.addr, &tls.Config{ServerName: "mx.kubedesk.test", RootCAs: roots})
	if err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.TLSConnectionState(); !ok {
		t.Fatal("the client is not under TLS")
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("EHLO under TLS offers STARTTLS again")
	}
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("EHLO under TLS offers AUTH")
	}
	if err := send(c, "ana@customer.example", []string{"support@acme.example"}, strings.NewReader(message)); err != nil {
		t.Fatalf("send under TLS: %v", err)
	}
	_, got := st.stats()
	if len(got) != 1 || !got[0].env.TLS {
		t.Errorf("delivered %+v, want one message with Envelope.TLS", got)
	}
}

func TestCertificateErrors(t *testing.T) {
	_, key := writeCert(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.crt")
	garbage := filepath.Join(dir, "garbage.crt")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, cert, key, want string
	}{
		{name: "missing file", cert: missing, key: key,
			want: `channel.smtp.tlsCertFile: "` + missing + `" with tlsKeyFile "` + key + `": open ` + missing + `: no such file or directory; accepted: PEM certificate and key files`},
		{name: "not PEM", cert: garbage, key: key,
			want: `channel.smtp.tlsCertFile: "` + garbage + `" with tlsKeyFile "` + key + `": tls: failed to find any PEM data in certificate input; accepted: PEM certificate and key files`},
		{name: "key without certificate", cert: "", key: key,
			want: "channel.smtp.tlsCertFile: is empty while the other of tlsCertFile and tlsKeyFile is set; accepted: both (STARTTLS offered) or neither"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.TLSCertFile, cfg.TLSKeyFile = tt.cert, tt.key
			_, err := newServer(cfg, newStore(), slog.New(slog.DiscardHandler), noop.NewMeterProvider().Meter(MeterName))
			if err == nil || err.Error() != tt.want {
				t.Errorf("New: %v\nwant %s", err, tt.want)
			}
		})
	}
}
