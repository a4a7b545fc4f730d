package smtpin

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// limitListener admits connections within the server's connection
// limits; it answers the others 421 4.7.0 and closes them before
// go-smtp sees them.
type limitListener struct {
	net.Listener
	s *Server
}

// Accept returns the next admitted connection.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		raw, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if c := l.s.admit(raw); c != nil {
			return c, nil
		}
	}
}

// remoteIP is the connection's peer address, IPv4-mapped addresses
// unmapped.
func remoteIP(c net.Conn) netip.Addr {
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// ipKey is the key the per-address limits count under: the address for
// IPv4, its /64 for IPv6 (one host is usually given a whole /64).
func ipKey(ip netip.Addr) string {
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.String()
		}
	}
	return ip.String()
}

// admit registers raw within the limits and wraps it, or refuses it
// (nil). The map of per-address counts holds only addresses with a live
// connection, so it is bounded by maxConnections.
func (s *Server) admit(raw net.Conn) *trackedConn {
	ip := remoteIP(raw)
	key := ipKey(ip)
	s.mu.Lock()
	var refusal, limit string
	switch {
	case s.draining.Load():
		refusal, limit = "server shutting down; try again later", ""
	case len(s.conns) >= s.cfg.MaxConnections:
		refusal, limit = "too many connections; try again later", "server"
	case s.perIP[key] >= s.cfg.PerIP.Connections:
		refusal, limit = "too many connections from your address; try again later", "ip"
	}
	if refusal != "" {
		s.mu.Unlock()
		if limit != "" {
			s.metrics.connectionRefused(limit)
		}
		s.log.Debug("smtp connection refused", "remote_ip", ip.String(), "reason", refusal)
		// A fresh socket's send buffer is empty: the write does not block,
		// the deadline is a guard only.
		_ = raw.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = fmt.Fprintf(raw, "421 4.7.0 %s %s\r\n", s.cfg.Hostname, refusal)
		_ = raw.Close()
		return nil
	}
	c := &trackedConn{Conn: raw, s: s, ip: ip, key: key}
	s.conns[c] = struct{}{}
	s.perIP[key]++
	s.mu.Unlock()
	return c
}

// release forgets c; it is the last thing a connection does.
func (s *Server) release(c *trackedConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.conns[c]; !ok {
		return
	}
	delete(s.conns, c)
	if s.perIP[c.key]--; s.perIP[c.key] <= 0 {
		delete(s.perIP, c.key)
	}
	if s.draining.Load() && len(s.conns) == 0 {
		s.drainedOnce.Do(func() { close(s.drained) })
	}
}

// trackedConn is one admitted connection. Each read waits at most
// readTimeout (go-smtp's own deadline would bound a whole DATA
// transfer by it), a DATA transfer at most dataTimeout; once the server
// drains, a connection outside DATA stops reading, so go-smtp answers
// 421 and hangs up.
type trackedConn struct {
	net.Conn
	s   *Server
	ip  netip.Addr
	key string

	mu        sync.Mutex
	inData    bool
	dataUntil time.Time
	closeOnce sync.Once
}

// past is a deadline that has passed.
var past = time.Unix(1, 0)

// Read reads with the deadline the connection's state calls for.
func (c *trackedConn) Read(b []byte) (int, error) {
	c.mu.Lock()
	deadline := time.Now().Add(c.s.cfg.ReadTimeout)
	switch {
	case c.inData:
		if c.dataUntil.Before(deadline) {
			deadline = c.dataUntil
		}
	case c.s.draining.Load():
		deadline = past
	}
	err := c.SetReadDeadline(deadline)
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

// Close releases the connection's place in the limits.
func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(func() { c.s.release(c) })
	return err
}

// setInData marks the start (with the transfer's deadline) or the end
// of a DATA transfer.
func (c *trackedConn) setInData(in bool, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inData, c.dataUntil = in, until
}

// kick interrupts a read outside DATA, for a drain.
func (c *trackedConn) kick() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.inData {
		_ = c.SetReadDeadline(past)
	}
}
