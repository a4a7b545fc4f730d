package smtpin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/kubedesk/kubedesk/services/platform/auth"
)

// maxLineBytes is the longest line accepted, in commands and in DATA.
// RFC 5321 allows 1000 octets, but senders do write longer lines (HTML
// bodies without breaks), so it is generous; commands that long cost at
// most this much memory per connection.
const maxLineBytes = 64 << 10

// Server is the inbound SMTP server. Build it with New, run it with
// Serve, stop it with Shutdown (or by ending Serve's context).
type Server struct {
	cfg     Config
	backend Backend
	log     *slog.Logger
	metrics *metrics
	smtp    *smtp.Server
	// messages is the per-address message rate. Once a minute it drops
	// the buckets that have refilled (burst/perSecond: 30 s with the
	// defaults), so it holds only the addresses that sent MAIL in the
	// last minute and a half or so, not every address ever seen.
	messages *auth.Limiter
	now      func() time.Time

	// base is the parent of every Backend call's context; hardStop
	// cancels it when Shutdown gives up waiting.
	base     context.Context
	hardStop context.CancelFunc

	draining    atomic.Bool
	drained     chan struct{} // closed once draining with no connection left
	drainedOnce sync.Once

	mu      sync.Mutex
	serving bool
	ln      net.Listener
	conns   map[*trackedConn]struct{}
	perIP   map[string]int
}

// New builds a server; it loads the certificate when configured (error names the field).
// cfg must be valid (Config.Validate); New checks it again.
func New(cfg Config, b Backend, log *slog.Logger) (*Server, error) {
	return newServer(cfg, b, log, otel.Meter(MeterName))
}

// newServer is New with the meter given, for tests.
func newServer(cfg Config, b Backend, log *slog.Logger, meter metric.Meter) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if b == nil {
		return nil, errors.New("smtpin: no Backend")
	}
	if log == nil {
		log = slog.Default()
	}
	m, err := newMetrics(meter)
	if err != nil {
		return nil, err
	}
	base, hardStop := context.WithCancel(context.Background())
	s := &Server{
		cfg:      cfg,
		backend:  b,
		log:      log,
		metrics:  m,
		messages: auth.NewLimiter(auth.Rate{PerSecond: cfg.PerIP.Messages.Per, Burst: cfg.PerIP.Messages.Burst}),
		now:      time.Now,
		base:     base,
		hardStop: hardStop,
		drained:  make(chan struct{}),
		conns:    map[*trackedConn]struct{}{},
		perIP:    map[string]int{},
	}

	ss := smtp.NewServer(backendFunc(s.newSession))
	ss.Domain = cfg.Hostname
	ss.MaxMessageBytes = cfg.MaxMessageBytes
	ss.MaxRecipients = cfg.MaxRecipients
	ss.ReadTimeout = cfg.ReadTimeout
	ss.WriteTimeout = cfg.WriteTimeout
	ss.MaxLineLength = maxLineBytes
	ss.EnableSMTPUTF8 = true // 8BITMIME is always offered
	ss.ErrorLog = errorLog{log}
	if cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			hardStop()
			return nil, fmt.Errorf("channel.smtp.tlsCertFile: %q with tlsKeyFile %q: %w; accepted: PEM certificate and key files", cfg.TLSCertFile, cfg.TLSKeyFile, err)
		}
		ss.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	s.smtp = ss
	return s, nil
}

// Serve accepts on ln until ctx ends or Shutdown; returns nil after a clean shutdown.
// When ctx ends the server drains as Shutdown does, without a bound:
// the sessions in DATA finish (within dataTimeout and backendTimeout).
// Serve closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	if s.serving {
		s.mu.Unlock()
		return errors.New("smtpin: Serve called twice")
	}
	s.serving = true
	s.ln = &limitListener{Listener: ln, s: s}
	s.mu.Unlock()
	if s.draining.Load() {
		_ = ln.Close()
		return nil
	}

	stop := context.AfterFunc(ctx, s.drain)
	defer stop()
	s.log.Info("smtp listening", "addr", ln.Addr().String(), "starttls", s.smtp.TLSConfig != nil)
	err := s.smtp.Serve(s.ln)
	if !s.draining.Load() {
		_ = ln.Close()
		return fmt.Errorf("smtpin: accept on %s: %w", ln.Addr(), err)
	}
	<-s.drained
	return nil
}

// Shutdown stops accepting, lets sessions in DATA finish until ctx ends.
// Sessions outside DATA are answered 421 and closed at once. When ctx ends
// first, every connection is closed, the context of running Backend calls
// is cancelled, and ctx's error is returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.drain()
	select {
	case <-s.drained:
		return nil
	case <-ctx.Done():
	}
	s.hardStop()
	s.mu.Lock()
	conns := make([]*trackedConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
	return fmt.Errorf("smtpin: shutdown: %w", ctx.Err())
}

// drain stops accepting and interrupts the sessions outside DATA.
func (s *Server) drain() {
	if s.draining.Swap(true) {
		return
	}
	s.mu.Lock()
	if s.ln != nil {
		_ = s.ln.Close()
	}
	conns := make([]*trackedConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	if len(s.conns) == 0 {
		s.drainedOnce.Do(func() { close(s.drained) })
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.kick()
	}
}

// backendFunc adapts a function to go-smtp's Backend.
type backendFunc func(*smtp.Conn) (smtp.Session, error)

func (f backendFunc) NewSession(c *smtp.Conn) (smtp.Session, error) { return f(c) }

// errorLog sends go-smtp's own reports to slog: a recovered panic (in a
// Backend, say) at Error; a broken connection, which an MX on the
// internet sees all day, at Debug.
type errorLog struct{ log *slog.Logger }

func (l errorLog) Printf(format string, v ...any) { l.report(fmt.Sprintf(format, v...)) }

func (l errorLog) Println(v ...any) { l.report(fmt.Sprint(v...)) }

func (l errorLog) report(msg string) {
	if strings.HasPrefix(msg, "panic") {
		l.log.Error("smtp server: " + msg)
		return
	}
	l.log.Debug("smtp server: " + msg)
}
