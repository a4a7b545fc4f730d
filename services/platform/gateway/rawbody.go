package gateway

import (
	"context"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/protobuf/proto"
)

// A method that streams google.api.HttpBody (an attachment's bytes) is
// answered with the bytes as they are, under the messages' content type.
// grpc-gateway v2.31 gets half of that right: with HTTPBodyMarshaler
// (restMux) it takes Content-Type from the first message and writes each
// message's data unmarshalled, but it writes the marshaler's stream
// delimiter ("\n") after every message, as for a JSON stream, which would
// corrupt the file. The delimiter cannot be told from the body by the
// marshaler (it is one per mux, and WatchEvents' JSON stream needs it), so
// rawBodyWriter drops it: the forward-response option rawBody, which
// grpc-gateway calls before writing each message, tells the writer that
// the next write is a body's data and the one after it its delimiter.

// rawBodyWriter is the ResponseWriter the REST mux writes to.
type rawBodyWriter struct {
	http.ResponseWriter
	// pending counts the writes still expected for the current HttpBody
	// message: 2 (its data, then the delimiter to drop), 1 (the
	// delimiter), 0 (not in one).
	pending int
}

func (w *rawBodyWriter) Write(p []byte) (int, error) {
	switch w.pending {
	case 2:
		w.pending = 1
	case 1:
		w.pending = 0
		return len(p), nil // the stream delimiter after a body's data
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the writer's Flush.
func (w *rawBodyWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// rawBodies wraps the REST mux's writer for rawBody.
func rawBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&rawBodyWriter{ResponseWriter: w}, r)
	})
}

// rawBody is the forward-response option that marks an HttpBody message
// of a stream for rawBodyWriter. (A unary HttpBody response is written
// once, without a delimiter; the mark it leaves expects a write that
// never comes.)
func rawBody(_ context.Context, w http.ResponseWriter, resp proto.Message) error {
	if _, ok := resp.(*httpbody.HttpBody); !ok {
		return nil
	}
	if rw, ok := w.(*rawBodyWriter); ok {
		rw.pending = 2
	}
	return nil
}

// marshaler is the REST API's: JSON (proto field names as protojson
// writes them, unpopulated fields included, unknown fields refused), and
// the raw bytes of a google.api.HttpBody.
func marshaler(jsonpb *runtime.JSONPb) runtime.Marshaler {
	return &runtime.HTTPBodyMarshaler{Marshaler: jsonpb}
}
