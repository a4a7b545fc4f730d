package mail

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// errLimit is returned by guardReader once a limit is crossed; the
// ParseError saying which is kept in guardReader.err.
var errLimit = errors.New("mail: input limit exceeded")

// guardReader streams the raw message and fails as soon as a line or the
// whole message grows past its limit, so that nothing downstream ever
// buffers more than the limits allow. Its error is sticky.
type guardReader struct {
	r        io.Reader
	maxLine  int
	maxTotal int64
	total    int64
	line     int // bytes since the last '\n'
	lineNo   int // 1-based number of the current line
	err      *ParseError
	// ioErr is an error from r itself (not io.EOF): the input could not
	// be read, which is not a fault of the message.
	ioErr error
}

func newGuardReader(r io.Reader, lim Limits) *guardReader {
	return &guardReader{r: r, maxLine: lim.MaxLineBytes, maxTotal: lim.MaxMessageBytes, lineNo: 1}
}

func (g *guardReader) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, errLimit
	}
	// The caller's buffer already exists, so reading into it costs nothing
	// more; a crossed limit is seen within one read of it.
	n, err := g.r.Read(p)
	if err != nil && err != io.EOF && g.ioErr == nil {
		g.ioErr = err
	}
	g.total += int64(n)
	if g.total > g.maxTotal {
		g.err = &ParseError{Field: "message", Msg: fmt.Sprintf("larger than %d bytes; Limits.MaxMessageBytes accepts at most %d", g.maxTotal, g.maxTotal)}
		return 0, errLimit
	}
	b := p[:n]
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			g.line += len(b)
			break
		}
		g.line += i
		if g.line > g.maxLine {
			break
		}
		g.line = 0
		g.lineNo++
		b = b[i+1:]
	}
	if g.line > g.maxLine {
		g.err = &ParseError{Field: "message", Msg: fmt.Sprintf("line %d is longer than %d bytes; Limits.MaxLineBytes accepts lines of at most %d bytes (RFC 5322 allows 998)", g.lineNo, g.maxLine, g.maxLine)}
		return 0, errLimit
	}
	return n, err
}

// headerLimitReader bounds the bytes read for the top-level header.
type headerLimitReader struct {
	r        io.Reader
	n        int64
	exceeded bool
}

func (h *headerLimitReader) Read(p []byte) (int, error) {
	if h.n <= 0 {
		h.exceeded = true
		return 0, errLimit
	}
	if int64(len(p)) > h.n {
		p = p[:h.n]
	}
	n, err := h.r.Read(p)
	h.n -= int64(n)
	return n, err
}
