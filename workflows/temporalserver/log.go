package temporalserver

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// minLevel is the least severe level of the server's logs that reaches
// Options.Logger. At info the server logs every service and shard
// transition, dozens of lines per start; warnings and errors are what an
// operator of the all-in-one needs.
const minLevel = slog.LevelWarn

// slogLogger is Temporal's log.Logger writing to an slog.Logger.
type slogLogger struct {
	l *slog.Logger
	// stopping is set when Server.Stop begins. From then on only Fatal and
	// Panic are logged: tearing the services down makes each of them report
	// the others' absence (context canceled, connection refused, dozens of
	// warnings and errors per stop), and Stop's error says whether the stop
	// itself failed.
	stopping *atomic.Bool
}

// expectedWarnings are prefixes of warnings that follow from this package's
// configuration and tell an operator nothing.
var expectedWarnings = []string{
	// The frontend's HTTP API is off on purpose (clients use gRPC).
	"HTTP API port has not been set.",
}

var (
	_ log.Logger      = slogLogger{}
	_ log.WithLogger  = slogLogger{}
	_ log.SLogWrapper = slogLogger{}
)

// newLogger bridges the server's logs to l at minLevel and above, tagged
// component=temporal.
func newLogger(l *slog.Logger) slogLogger {
	return slogLogger{
		l:        slog.New(levelHandler{l.Handler()}).With("component", "temporal"),
		stopping: new(atomic.Bool),
	}
}

func (s slogLogger) Debug(msg string, tags ...tag.Tag) { s.log(slog.LevelDebug, msg, tags) }
func (s slogLogger) Info(msg string, tags ...tag.Tag)  { s.log(slog.LevelInfo, msg, tags) }
func (s slogLogger) Warn(msg string, tags ...tag.Tag)  { s.log(slog.LevelWarn, msg, tags) }
func (s slogLogger) Error(msg string, tags ...tag.Tag) { s.log(slog.LevelError, msg, tags) }

// DPanic panics only in zap's development mode; in production it is an error.
func (s slogLogger) DPanic(msg string, tags ...tag.Tag) { s.log(slog.LevelError, msg, tags) }

// Panic logs and panics, as the server expects.
func (s slogLogger) Panic(msg string, tags ...tag.Tag) {
	s.l.Error(msg, attrs(tags)...)
	panic(newFatalError(msg, tags))
}

// Fatal logs and panics with a fatalError. The server calls Fatal where it
// cannot go on (zap's Fatal exits the process) and relies on Fatal not
// returning: returning would run on with, say, a nil listener. A panic stops
// it; during Start the panic is turned back into an error (catchFatal), and
// afterwards it crashes the process with the message, as zap would.
func (s slogLogger) Fatal(msg string, tags ...tag.Tag) {
	s.l.Error(msg, attrs(tags)...)
	panic(newFatalError(msg, tags))
}

// With returns a logger that adds tags to every record.
func (s slogLogger) With(tags ...tag.Tag) log.Logger {
	return slogLogger{l: s.l.With(attrs(tags)...), stopping: s.stopping}
}

// SLog gives the server's slog users (its Nexus handlers) the same logger.
func (s slogLogger) SLog() *slog.Logger { return s.l }

func (s slogLogger) log(level slog.Level, msg string, tags []tag.Tag) {
	ctx := context.Background()
	if s.stopping.Load() || !s.l.Enabled(ctx, level) { // before converting the tags
		return
	}
	for _, prefix := range expectedWarnings {
		if strings.HasPrefix(msg, prefix) {
			return
		}
	}
	s.l.Log(ctx, level, msg, attrs(tags)...)
}

func attrs(tags []tag.Tag) []any {
	out := make([]any, len(tags))
	for i, t := range tags {
		out[i] = slog.Any(t.Key(), t.Value())
	}
	return out
}

// levelHandler drops records below minLevel before they reach the wrapped
// handler, which may let through more of the application's own logs.
type levelHandler struct{ slog.Handler }

func (h levelHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= minLevel && h.Handler.Enabled(ctx, level)
}

func (h levelHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return levelHandler{h.Handler.WithAttrs(as)}
}

func (h levelHandler) WithGroup(name string) slog.Handler {
	return levelHandler{h.Handler.WithGroup(name)}
}

// fatalError is the panic value of slogLogger.Fatal and Panic: the message
// with its tags, wrapping the first tag that is an error (so that, say,
// errors.Is(err, syscall.EADDRINUSE) holds for a port taken).
type fatalError struct {
	msg string
	err error
}

func newFatalError(msg string, tags []tag.Tag) fatalError {
	var b strings.Builder
	b.WriteString("temporal: ")
	b.WriteString(msg)
	var cause error
	for _, t := range tags {
		fmt.Fprintf(&b, " %s=%v", t.Key(), t.Value())
		if err, ok := t.Value().(error); ok && cause == nil {
			cause = err
		}
	}
	return fatalError{msg: b.String(), err: cause}
}

func (e fatalError) Error() string { return e.msg }
func (e fatalError) Unwrap() error { return e.err }
