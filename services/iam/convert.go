package iam

import (
	"encoding/base64"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
)

func timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func timeOf(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime().UTC()
}

// ETag is a user's version tag for optimistic concurrency.
func ETag(version int64) string { return "v" + strconv.FormatInt(version, 10) }

func parseETag(s string) (int64, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "W/")
	s = strings.TrimPrefix(strings.Trim(s, `"`), "v")
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil && v > 0
}

// userToProto never carries the password hash.
func userToProto(u User) *iamv1.User {
	return &iamv1.User{
		Id:          u.ID,
		Tenant:      u.Tenant,
		Email:       u.Email,
		DisplayName: u.DisplayName,
		Locale:      u.Locale,
		TimeZone:    u.TimeZone,
		Roles:       u.Roles,
		Groups:      u.Groups,
		Active:      u.Active,
		CreateTime:  timestamp(u.CreateTime),
		UpdateTime:  timestamp(u.UpdateTime),
		Etag:        ETag(u.Version),
	}
}

func sessionToProto(s Session) *iamv1.Session {
	return &iamv1.Session{
		Id:           s.ID,
		UserId:       s.UserID,
		CreateTime:   timestamp(s.CreateTime),
		LastSeenTime: timestamp(s.LastSeenTime),
		ExpireTime:   timestamp(s.ExpireTime),
		ClientIp:     s.ClientIP,
		UserAgent:    s.UserAgent,
	}
}

// keyToProto never carries the secret (only the digest is stored).
func keyToProto(k APIKey) *iamv1.ApiKey {
	return &iamv1.ApiKey{
		Id:           k.ID,
		Tenant:       k.Tenant,
		DisplayName:  k.DisplayName,
		Role:         k.Role,
		Prefix:       k.Prefix,
		CreateTime:   timestamp(k.CreateTime),
		ExpireTime:   timestamp(k.ExpireTime),
		LastUsedTime: timestamp(k.LastUsedTime),
		RevokeTime:   timestamp(k.RevokeTime),
		Creator:      actorToProto(k.Creator),
		Tenants:      k.Tenants,
	}
}

func actorToProto(a Actor) *iamv1.Actor {
	if a == (Actor{}) {
		return nil
	}
	return &iamv1.Actor{Id: a.ID, Kind: a.Kind, DisplayName: a.DisplayName}
}

func auditToProto(e AuditEvent) *iamv1.AuditEvent {
	return &iamv1.AuditEvent{
		Id:         e.ID,
		Tenant:     e.Tenant,
		Type:       e.Type,
		Actor:      actorToProto(e.Actor),
		Subject:    e.Subject,
		ClientIp:   e.ClientIP,
		Detail:     e.Detail,
		CreateTime: timestamp(e.CreateTime),
		TraceId:    e.TraceID,
	}
}

func auditFromProto(e *iamv1.AuditEvent) AuditEvent {
	a := e.GetActor()
	return AuditEvent{
		Tenant:   e.GetTenant(),
		Type:     e.GetType(),
		Actor:    Actor{ID: a.GetId(), Kind: a.GetKind(), DisplayName: a.GetDisplayName()},
		Subject:  truncate(e.GetSubject(), 300),
		ClientIP: truncate(e.GetClientIp(), 64),
		Detail:   truncate(e.GetDetail(), 1000),
		TraceID:  truncate(e.GetTraceId(), 64),
		// Checked against the clock by appendAudit.
		CreateTime: timeOf(e.GetCreateTime()).Truncate(time.Microsecond),
	}
}

// Page tokens carry the keyset position and a checksum of the query they
// belong to ("1|<position>|<crc>"), so a token is refused with another
// filter or list.
func encodePageToken(pos, query string) string {
	raw := fmt.Sprintf("1|%s|%08x", pos, crc32.ChecksumIEEE([]byte(query)))
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodePageToken(token, query string) (string, error) {
	if token == "" {
		return "", nil
	}
	invalid := status.Error(codes.InvalidArgument, "page_token: is not a token this service issued; send the next_page_token of the previous page")
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", invalid
	}
	s := string(raw)
	first, rest, ok1 := strings.Cut(s, "|")
	i := strings.LastIndexByte(rest, '|')
	if !ok1 || first != "1" || i <= 0 {
		return "", invalid
	}
	if rest[i+1:] != fmt.Sprintf("%08x", crc32.ChecksumIEEE([]byte(query))) {
		return "", status.Error(codes.InvalidArgument, "page_token: belongs to a different query; keep the parameters of the first page, or start again without a token")
	}
	return rest[:i], nil
}
