// Package web serves the live web chat to browsers from the gateway: the
// widget script (/widget.js, embedded) and the visitor's endpoints under
// /chat/{tenant}/: a WebSocket, and server-sent events with POST as the
// fallback. Each forwards to the channel service's internal
// ChatVisitorService over gRPC with the gateway's own service credential
// (visitors have no credential the identity module knows; their token is
// the channel service's to check), so the chat works the same when the
// gateway and the channel service are separate processes.
//
// No cookie authenticates a visitor: the token travels in the WebSocket's
// first frame or the X-Kubedesk-Visitor header, from the host page's
// storage, which other sites cannot read. So any origin may connect
// (CORS *, no origin check on the WebSocket) without opening the chat to
// cross-site requests.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// The patterns the gateway serves Handler under.
const (
	WidgetPath = "/widget.js"
	ChatPath   = "/chat/{tenant}/"
)

// TokenHeader carries the visitor's token on the server-sent events and
// POST endpoints.
const TokenHeader = "X-Kubedesk-Visitor"

// MaxFrameBytes is the largest frame (WebSocket message or POST body)
// read: far above any message accepted, so that an oversized message is
// refused with an error frame that says its limit rather than a dropped
// connection. A larger frame ends the WebSocket (1009).
const MaxFrameBytes = 1 << 20

// heartbeat is how often an idle connection is pinged (WebSocket) or sent
// a comment (server-sent events), so proxies keep it open and dead peers
// are found.
const heartbeat = 25 * time.Second

// Options configure the endpoints.
type Options struct {
	// MaxMessageBytes is the longest message accepted, checked here
	// before the channel service checks it again.
	MaxMessageBytes int
	Log             *slog.Logger
}

// Handler serves the widget and the visitor's endpoints: register it
// under WidgetPath and ChatPath.
func Handler(client channelv1.ChatVisitorServiceClient, opts Options) http.Handler {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	h := &handler{client: client, opts: opts}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+WidgetPath, serveWidget)
	mux.HandleFunc("OPTIONS "+ChatPath+"{rest...}", h.preflight)
	mux.HandleFunc("POST "+ChatPath+"visit", h.visit)
	mux.HandleFunc("GET "+ChatPath+"ws", h.websocket)
	mux.HandleFunc("GET "+ChatPath+"events", h.events)
	mux.HandleFunc("POST "+ChatPath+"send", h.send)
	mux.HandleFunc(ChatPath+"{rest...}", func(w http.ResponseWriter, r *http.Request) {
		cors(w)
		writeJSON(w, http.StatusNotFound, &ErrorFrame{Type: "error", Code: CodeNotFound,
			Message: r.Method + " " + r.URL.Path + ": not an endpoint of the chat; accepted: POST visit, GET ws, GET events, POST send"})
	})
	return mux
}

type handler struct {
	client channelv1.ChatVisitorServiceClient
	opts   Options
}

// cors lets pages of any origin call: no credential is ambient (see the
// package comment).
func cors(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cache-Control", "no-store")
}

func (h *handler) preflight(w http.ResponseWriter, _ *http.Request) {
	cors(w)
	w.Header().Set("Access-Control-Allow-Methods", "GET, POST")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type, "+TokenHeader+", Last-Event-ID")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// outgoing is the call's context for the channel service: the tenant of
// the path (a 404 answered when it is not a tenant ID) and the client's
// address, which limits how many visitors it makes.
func (h *handler) outgoing(w http.ResponseWriter, r *http.Request) (context.Context, string, bool) {
	cors(w)
	id := r.PathValue("tenant")
	if err := tenant.Validate(id); err != nil {
		writeJSON(w, http.StatusNotFound, &ErrorFrame{Type: "error", Code: CodeNotFound, Message: err.Error()})
		return nil, "", false
	}
	ctx := tenant.Outgoing(r.Context(), id)
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		ctx = metadata.AppendToOutgoingContext(ctx, auth.ClientIPKey, host)
	}
	return ctx, id, true
}

// visit starts (or resumes) a visit: the body is {"token": ...} or
// empty, the answer a welcome frame.
func (h *handler) visit(w http.ResponseWriter, r *http.Request) {
	ctx, _, ok := h.outgoing(w, r)
	if !ok {
		return
	}
	var body struct {
		Token string `json:"token"`
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, 4096))
	if err == nil && len(strings.TrimSpace(string(data))) > 0 {
		err = json.Unmarshal(data, &body)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, &ErrorFrame{Type: "error", Code: CodeBadFrame, Message: `body: not {"token": "..."} (` + jsonProblem(err) + `)`})
		return
	}
	token := body.Token
	if token == "" {
		token = r.Header.Get(TokenHeader)
	}
	welcome, err := h.start(ctx, token)
	if err != nil {
		h.refuse(w, r, err, "")
		return
	}
	writeJSON(w, http.StatusOK, welcome)
}

func (h *handler) start(ctx context.Context, token string) (*Welcome, error) {
	if len(token) > maxToken {
		token = "" // not a token: a new visitor
	}
	resp, err := h.client.StartChatVisit(ctx, &channelv1.StartChatVisitRequest{Token: token})
	if err != nil {
		return nil, err
	}
	return &Welcome{Type: "welcome", Token: resp.GetToken(), Visitor: resp.GetVisitorId(), MaxBytes: resp.GetMaxMessageBytes(),
		Chat: conversationFrame(resp.GetConversation())}, nil
}

// send takes one frame by POST (the fallback's way up): a message is
// answered with its ack, the others with 204.
func (h *handler) send(w http.ResponseWriter, r *http.Request) {
	ctx, _, ok := h.outgoing(w, r)
	if !ok {
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, MaxFrameBytes+1))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, &ErrorFrame{Type: "error", Code: CodeBadFrame, Message: "body: " + err.Error()})
		return
	}
	if len(data) > MaxFrameBytes {
		writeJSON(w, http.StatusRequestEntityTooLarge, &ErrorFrame{Type: "error", Code: CodeTooLarge,
			Message: "body: larger than " + strconv.Itoa(MaxFrameBytes) + " bytes; accepted: one frame with a message of at most " + strconv.Itoa(h.opts.MaxMessageBytes) + " bytes"})
		return
	}
	f, err := DecodeFrame(data, h.opts.MaxMessageBytes)
	if err == nil && f.Type == TypeHello {
		err = bad("", "type: hello is the WebSocket's first frame; accepted here: message, typing, read, email")
	}
	if err != nil {
		h.refuse(w, r, err, "")
		return
	}
	token := r.Header.Get(TokenHeader)
	if token == "" {
		writeJSON(w, http.StatusUnauthorized, &ErrorFrame{Type: "error", Code: CodeToken, ID: f.ID,
			Message: TokenHeader + ": missing; accepted: the token POST /chat/" + r.PathValue("tenant") + "/visit returned"})
		return
	}
	reply, err := h.dispatch(ctx, token, f)
	if err != nil {
		h.refuse(w, r, err, f.ID)
		return
	}
	if reply == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, reply)
}

// dispatch forwards a frame to the channel service; a message's answer
// is its ack.
func (h *handler) dispatch(ctx context.Context, token string, f ClientFrame) (any, error) {
	switch f.Type {
	case TypeMessage:
		resp, err := h.client.PostChatMessage(ctx, &channelv1.PostChatMessageRequest{Token: token, ClientId: f.ID, Text: f.Text, Locale: f.Locale})
		if err != nil {
			return nil, err
		}
		return &Ack{Type: "ack", ID: f.ID, Chat: resp.GetConversation().GetTicketId(), Seq: resp.GetMessage().GetSeq()}, nil
	case TypeTyping, TypeRead:
		_, err := h.client.SignalChatVisit(ctx, &channelv1.SignalChatVisitRequest{Token: token, Typing: f.Typing, ReadSeq: f.Seq})
		return nil, err
	case TypeEmail:
		resp, err := h.client.SetChatVisitEmail(ctx, &channelv1.SetChatVisitEmailRequest{Token: token, Email: f.Email, Locale: f.Locale})
		if err != nil {
			return nil, err
		}
		c := conversationFrame(resp.GetConversation())
		c.Type = "chat"
		return c, nil
	}
	return nil, bad("", "type: %q is not a frame to send; accepted: message, typing, read, email", f.Type)
}

// errorFrame is how a refusal reaches the visitor, and its HTTP status
// for the POST endpoints.
func (h *handler) errorFrame(ctx context.Context, err error, id string) (*ErrorFrame, int) {
	var fe *FrameError
	if errors.As(err, &fe) {
		status := http.StatusBadRequest
		if fe.Code == CodeTooLarge {
			status = http.StatusRequestEntityTooLarge
		}
		return &ErrorFrame{Type: "error", Code: fe.Code, Message: fe.Message, ID: fe.ID}, status
	}
	st := status.Convert(err)
	e := &ErrorFrame{Type: "error", Message: st.Message(), ID: id}
	switch st.Code() {
	case codes.InvalidArgument:
		e.Code = CodeInvalid
		return e, http.StatusBadRequest
	case codes.Unauthenticated:
		e.Code = CodeToken
		return e, http.StatusUnauthorized
	case codes.ResourceExhausted:
		e.Code, e.RetryAfter = CodeRateLimited, retryAfter(st.Message())
		return e, http.StatusTooManyRequests
	case codes.NotFound:
		e.Code = CodeNotFound
		return e, http.StatusNotFound
	case codes.FailedPrecondition:
		e.Code = CodeState
		return e, http.StatusConflict
	}
	h.opts.Log.WarnContext(ctx, "chat request failed", "code", st.Code().String(), "err", st.Message())
	e.Code, e.Message = CodeUnavailable, "the chat service is unavailable; try again"
	return e, http.StatusServiceUnavailable
}

func (h *handler) refuse(w http.ResponseWriter, r *http.Request, err error, id string) {
	e, code := h.errorFrame(r.Context(), err, id)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	writeJSON(w, code, e)
}

// retryAfter reads the seconds of the channel service's "retry in N s".
func retryAfter(msg string) int {
	_, rest, ok := strings.Cut(msg, "retry in ")
	if !ok {
		return 1
	}
	n, err := strconv.Atoi(strings.TrimSuffix(rest, " s"))
	if err != nil || n < 1 {
		return 1
	}
	return n
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// follow opens the visitor's stream from the chat and seq it saw last.
func (h *handler) follow(ctx context.Context, token, chat string, after int64) (grpc.ServerStreamingClient[channelv1.FollowChatVisitResponse], error) {
	return h.client.FollowChatVisit(ctx, &channelv1.FollowChatVisitRequest{Token: token, TicketId: chat, AfterSeq: after})
}
