package channel

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/channel/store"
	"github.com/kubedesk/kubedesk/services/platform/etag"
)

func timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func identitiesToProto(ids []store.Identity) []*channelv1.Identity {
	out := make([]*channelv1.Identity, len(ids))
	for i, id := range ids {
		out[i] = &channelv1.Identity{Type: id.Type, Value: id.Value, Primary: id.Primary}
	}
	return out
}

func contactToProto(c store.Contact) *channelv1.Contact {
	return &channelv1.Contact{
		Id:             c.ID,
		DisplayName:    c.DisplayName,
		Identities:     identitiesToProto(c.Identities),
		OrganizationId: c.OrganizationID,
		Tier:           c.Tier,
		Locale:         c.Locale,
		TimeZone:       c.TimeZone,
		CustomFields:   c.CustomFields,
		MergedInto:     c.MergedInto,
		CreateTime:     timestamp(c.CreateTime),
		UpdateTime:     timestamp(c.UpdateTime),
		Version:        c.Version,
		Etag:           etag.Format(c.Version),
	}
}

func orgToProto(o store.Organization) *channelv1.Organization {
	return &channelv1.Organization{
		Id:           o.ID,
		Name:         o.Name,
		Region:       o.Region,
		Industry:     o.Industry,
		Size:         o.Size,
		Domains:      o.Domains,
		Tier:         o.Tier,
		CustomFields: o.CustomFields,
		CreateTime:   timestamp(o.CreateTime),
		UpdateTime:   timestamp(o.UpdateTime),
		Version:      o.Version,
		Etag:         etag.Format(o.Version),
	}
}

func auditToProto(e store.AuditEvent) *channelv1.ContactAuditEvent {
	var actor *iamv1.Actor
	if e.Actor != (store.Actor{}) {
		actor = &iamv1.Actor{Id: e.Actor.ID, Kind: e.Actor.Kind, DisplayName: e.Actor.DisplayName}
	}
	return &channelv1.ContactAuditEvent{
		Id:             e.ID,
		ContactId:      e.ContactID,
		Type:           e.Type,
		OtherContactId: e.OtherContactID,
		Identities:     identitiesToProto(e.Identities),
		TicketsMoved:   int32(e.TicketsMoved),
		Actor:          actor,
		CreateTime:     timestamp(e.CreateTime),
	}
}
