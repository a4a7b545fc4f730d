package temporalserver

import (
	"fmt"
	"net"
	"strconv"
	"sync"
)

// Temporal binds its ports itself, from numbers in its configuration, so a
// port has to be chosen before the server starts: freePort asks the kernel for
// one and gives it back. Two things keep another bind(:0) from being handed
// the same number before the server takes it:
//
//   - the port is left in TIME_WAIT: a connection to it is closed from the
//     listening side first, and Linux does not give out a TIME_WAIT port for
//     an ephemeral bind, while an explicit bind to it (the server's, with
//     SO_REUSEADDR as Go sets it) still succeeds. The Temporal CLI's dev
//     server does the same.
//   - this process never hands out the same port twice (handedOut), which
//     covers servers started side by side in one test binary.
var (
	handedOutMu sync.Mutex
	handedOut   = map[string]bool{}
)

// freePort returns a TCP port on ip that nothing listens on.
func freePort(ip string) (int, error) {
	for range 20 {
		port, err := reservePort(ip)
		if err != nil {
			return 0, fmt.Errorf("pick a free port on %s: %w", ip, err)
		}
		key := net.JoinHostPort(ip, strconv.Itoa(port))
		handedOutMu.Lock()
		taken := handedOut[key]
		handedOut[key] = true
		handedOutMu.Unlock()
		if !taken {
			return port, nil
		}
	}
	return 0, fmt.Errorf("pick a free port on %s: the kernel kept offering ports this process already uses", ip)
}

// reservePort binds ip:0, connects to the port and closes the accepted side
// first, leaving the port in TIME_WAIT.
func reservePort(ip string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	addr := l.Addr().String()
	port := l.Addr().(*net.TCPAddr).Port

	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer func() { _ = c.Close() }()
	s, err := l.Accept()
	if err != nil {
		return 0, err
	}
	// The side that closes first is the one that goes to TIME_WAIT.
	if err := s.Close(); err != nil {
		return 0, err
	}
	return port, nil
}
