// Package grpcserver builds kubedesk's gRPC servers: every call is traced
// (otelgrpc stats handler), recovered from panics, authenticated and
// authorised (auth.Interceptor: the caller's principal and tenant come from
// its credential, the roles from the RPC's access declaration) and
// validated against the protovalidate rules in its .proto (and one rule
// of its own for every string: no NUL character).
package grpcserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"

	"buf.build/go/protovalidate"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/kubedesk/kubedesk/services/platform/auth"
)

// Server is a gRPC server with kubedesk's interceptors, a health service and
// a way to end long-lived streams before a graceful stop.
type Server struct {
	*grpc.Server
	Health *health.Server

	drainOnce sync.Once
	drainCtx  context.Context
	drain     context.CancelFunc
}

// New returns a server whose calls pass access, which finds the caller and
// its tenant. Access runs after the panic recovery, so that its panics are
// answered too, and before validation, so that an unauthenticated caller
// learns nothing from the validation errors.
func New(log *slog.Logger, access *auth.Interceptor) (*Server, error) {
	if access == nil {
		return nil, errors.New("grpcserver: no access interceptor")
	}
	validator, err := protovalidate.New()
	if err != nil {
		return nil, fmt.Errorf("grpcserver: validator: %w", err)
	}
	s := &Server{Health: health.NewServer()}
	s.drainCtx, s.drain = context.WithCancel(context.Background())
	s.Server = grpc.NewServer(
		grpc.StatsHandler(otelgrpc.NewServerHandler()),
		grpc.MaxRecvMsgSize(4<<20),
		grpc.ChainUnaryInterceptor(
			recoverUnary(log),
			access.Unary(),
			validateUnary(validator),
		),
		grpc.ChainStreamInterceptor(
			recoverStream(log),
			s.drainStream(),
			access.Stream(),
			validateStream(validator),
		),
	)
	healthpb.RegisterHealthServer(s.Server, s.Health)
	reflection.Register(s.Server)
	return s, nil
}

// Drain ends every open stream (their contexts are cancelled) and marks the
// server NOT_SERVING, so GracefulStop does not wait on watchers forever.
func (s *Server) Drain() {
	s.drainOnce.Do(func() {
		s.Health.Shutdown()
		s.drain()
	})
}

func (s *Server) drainStream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, cancel := context.WithCancel(ss.Context())
		defer cancel()
		stop := context.AfterFunc(s.drainCtx, cancel)
		defer stop()
		return handler(srv, &contextStream{ServerStream: ss, ctx: ctx})
	}
}

type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }

func recoverUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = panicked(ctx, log, info.FullMethod, r)
			}
		}()
		return handler(ctx, req)
	}
}

func recoverStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = panicked(ss.Context(), log, info.FullMethod, r)
			}
		}()
		return handler(srv, ss)
	}
}

func panicked(ctx context.Context, log *slog.Logger, method string, r any) error {
	log.ErrorContext(ctx, "panic in gRPC handler", "method", method, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	return status.Error(codes.Internal, "internal error; the request was not applied")
}

func validateUnary(v protovalidate.Validator) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := validate(v, req); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

func validateStream(v protovalidate.Validator) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return handler(srv, &validatingStream{ServerStream: ss, v: v})
	}
}

type validatingStream struct {
	grpc.ServerStream
	v protovalidate.Validator
}

func (s *validatingStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return validate(s.v, m)
}

// validate checks a request against its protovalidate rules, and every
// string in it against nulRule, and reports every violation as
// INVALID_ARGUMENT with google.rpc.BadRequest details: "ticket.impact:
// value must be greater than or equal to 1 and less than or equal to 3".
func validate(v protovalidate.Validator, req any) error {
	msg, ok := req.(proto.Message)
	if !ok {
		return nil
	}
	// Most requests are valid: the details message is made only for one
	// that is not.
	var violations []*errdetails.BadRequest_FieldViolation
	add := func(field, desc string) {
		violations = append(violations, &errdetails.BadRequest_FieldViolation{Field: field, Description: desc})
	}
	err := v.Validate(msg)
	var verr *protovalidate.ValidationError
	if err != nil && !errors.As(err, &verr) {
		return status.Errorf(codes.Internal, "validating the request: %v", err)
	}
	if verr != nil {
		for _, viol := range verr.Violations {
			field := protovalidate.FieldPathString(viol.Proto.GetField())
			if field == "" {
				field = protovalidate.FieldPathString(viol.Proto.GetRule())
			}
			add(field, viol.Proto.GetMessage()+got(viol))
		}
	}
	for _, n := range nulStrings(msg.ProtoReflect()) {
		add(n.field, nulRule+" (got "+quoteShort(n.value)+")")
	}
	if len(violations) == 0 {
		return nil
	}
	lines := make([]string, len(violations))
	for i, fv := range violations {
		lines[i] = fv.Description
		if fv.Field != "" {
			lines[i] = fv.Field + ": " + fv.Description
		}
	}
	st := status.New(codes.InvalidArgument, strings.Join(lines, "; "))
	if withDetails, err := st.WithDetails(&errdetails.BadRequest{FieldViolations: violations}); err == nil {
		st = withDetails
	}
	return st.Err()
}

// got renders the offending scalar value, shortened, so the message names
// what was sent as well as what is accepted.
func got(viol *protovalidate.Violation) string {
	fd := viol.FieldDescriptor
	if fd == nil || !viol.FieldValue.IsValid() || fd.IsList() || fd.IsMap() || fd.Message() != nil {
		return ""
	}
	var v string
	switch fd.Kind() {
	case protoreflect.StringKind:
		v = quoteShort(viol.FieldValue.String())
	case protoreflect.BytesKind:
		return ""
	case protoreflect.EnumKind:
		v = strconv.Itoa(int(viol.FieldValue.Enum()))
	default:
		v = fmt.Sprint(viol.FieldValue.Interface())
	}
	return " (got " + v + ")"
}

// quoteShort quotes s, cut to its first 40 characters.
func quoteShort(s string) string {
	if r := []rune(s); len(r) > 40 {
		s = string(r[:40]) + "…"
	}
	return strconv.Quote(s)
}
