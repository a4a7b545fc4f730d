package iam

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/platform/etag"
	"github.com/kubedesk/kubedesk/services/platform/text"
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
		Etag:        etag.Format(u.Version),
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
		ContactId:    s.ContactID,
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
		Subject:  text.Truncate(e.GetSubject(), 300),
		ClientIP: text.Truncate(e.GetClientIp(), 64),
		Detail:   text.Truncate(e.GetDetail(), 1000),
		TraceID:  text.Truncate(e.GetTraceId(), 64),
		// Checked against the clock by appendAudit.
		CreateTime: timeOf(e.GetCreateTime()).Truncate(time.Microsecond),
	}
}
