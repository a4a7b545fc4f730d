package wechat

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	"github.com/kubedesk/kubedesk/services/channel/wechat/mp"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// CallbackPath is the pattern of a tenant's callback URL on the gateway.
const CallbackPath = "/channels/wechat/{tenant}"

// Service serves the internal WeChatCallbackService: the gateway's side
// of the callback (Handler) forwards WeChat's calls to it.
type Service struct {
	channelv1.UnimplementedWeChatCallbackServiceServer
	Callback *Callback
}

// Register serves s on g.
func (s *Service) Register(g grpc.ServiceRegistrar) {
	channelv1.RegisterWeChatCallbackServiceServer(g, s)
}

// HandleWeChatCallback implements channelv1.WeChatCallbackServiceServer.
func (s *Service) HandleWeChatCallback(ctx context.Context, req *channelv1.HandleWeChatCallbackRequest) (*channelv1.HandleWeChatCallbackResponse, error) {
	query, err := url.ParseQuery(req.GetRawQuery())
	if err != nil {
		return answer(plain(http.StatusBadRequest, "query: "+err.Error())), nil
	}
	r := s.Callback.Handle(ctx, tenant.From(ctx), req.GetMethod(), query, req.GetBody())
	if r.Status == http.StatusServiceUnavailable {
		// Nothing was stored: an error, so that the gateway's caller
		// and traces see the failure; the gateway still answers 503.
		return nil, status.Error(codes.Unavailable, string(r.Body))
	}
	return answer(r), nil
}

func answer(r Response) *channelv1.HandleWeChatCallbackResponse {
	return &channelv1.HandleWeChatCallbackResponse{HttpStatus: int32(r.Status), ContentType: r.ContentType, Body: r.Body}
}

// Handler is the gateway's side of tenants' callback URLs
// (CallbackPath): it reads WeChat's call, at most mp.MaxBody bytes of
// body, and forwards it to the channel service, whose answer it returns.
// WeChat sends no credential: the channel service checks the call's
// signature, and client carries the gateway's own service credential.
func Handler(client channelv1.WeChatCallbackServiceClient, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("tenant")
		if err := tenant.Validate(id); err != nil {
			write(w, plain(http.StatusNotFound, err.Error()))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			w.Header().Set("Allow", "GET, POST")
			write(w, plain(http.StatusMethodNotAllowed, "GET verifies the URL, POST delivers a message"))
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, mp.MaxBody+1))
		if err != nil {
			write(w, plain(http.StatusBadRequest, "body: "+err.Error()))
			return
		}
		if len(body) > mp.MaxBody {
			write(w, plain(http.StatusBadRequest, fmt.Sprintf("body: larger than %d bytes; accepted: a WeChat message of at most %d bytes", mp.MaxBody, mp.MaxBody)))
			return
		}
		resp, err := client.HandleWeChatCallback(tenant.Outgoing(r.Context(), id), &channelv1.HandleWeChatCallbackRequest{
			Method: r.Method, RawQuery: r.URL.RawQuery, Body: body,
		})
		if err != nil {
			log.WarnContext(r.Context(), "wechat callback not handled", "tenant", id, "err", err)
			// WeChat retries a call that fails: nothing was stored.
			write(w, plain(http.StatusServiceUnavailable, "not stored; retry"))
			return
		}
		write(w, Response{Status: int(resp.GetHttpStatus()), ContentType: resp.GetContentType(), Body: resp.GetBody()})
	})
}

func write(w http.ResponseWriter, r Response) {
	if r.ContentType != "" {
		w.Header().Set("Content-Type", r.ContentType)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(r.Body)))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(r.Status)
	_, _ = w.Write(r.Body)
}
