package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/routing"
	"github.com/kubedesk/kubedesk/services/routing/rules"
	routingstore "github.com/kubedesk/kubedesk/services/routing/store"
)

// decisionSink stands in for the ticket service's AssignTicket: the
// benchmark measures the routing decision itself, from the event to the
// agent chosen and recorded, not the write to the ticket.
type decisionSink struct{}

func (decisionSink) GetTicket(context.Context, string, string) (*ticketv1.Ticket, error) {
	return nil, fmt.Errorf("not used")
}

func (decisionSink) AssignTicket(_ context.Context, _ string, in *ticketv1.AssignTicketRequest) (*ticketv1.AssignTicketResponse, error) {
	return &ticketv1.AssignTicketResponse{Applied: true}, nil
}

// BenchmarkRoutingDecision times one routing decision in-process, from the
// ticket-created event to the agent chosen and recorded in the store, with
// 1,000 agents online in 50 groups of 20 and 200 rules in force (each with
// Chinese and English keywords; one in four requires a skill). It reports
// the p50 and p99 of a decision; the target is p99 < 5 ms.
func BenchmarkRoutingDecision(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			url := ""
			if engine == "postgres" {
				url = pg.NewDatabase(b)
			}
			ctx := context.Background()
			st, err := routingstore.Open(ctx, url, b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			const tenantID, groups, perGroup, ruleCount = "default", 50, 20, 200
			skills := []string{"billing", "network", "zh", "en", "hardware"}
			for g := range groups {
				var members []string
				for m := range perGroup {
					id := fmt.Sprintf("agent-%02d-%02d", g, m)
					members = append(members, id)
					if _, err := st.PutAgentProfile(ctx, routing.Agent{Tenant: tenantID, ID: id,
						Skills:   []routing.Skill{{Name: skills[m%len(skills)], Level: 1 + m%5}},
						Capacity: map[string]int{"email": 1000}}); err != nil {
						b.Fatal(err)
					}
					if _, err := st.SetPresence(ctx, tenantID, id, routing.Online, time.Now(), time.Time{}); err != nil {
						b.Fatal(err)
					}
				}
				strategy := []routing.Strategy{routing.RoundRobin, routing.LeastLoaded, routing.BySkills}[g%3]
				if _, err := st.CreateGroup(ctx, routing.Group{Tenant: tenantID, ID: fmt.Sprintf("group-%02d", g),
					DisplayName: fmt.Sprintf("组 %d", g), Strategy: strategy, Members: members}); err != nil {
					b.Fatal(err)
				}
			}
			var doc strings.Builder
			for i := range ruleCount {
				fmt.Fprintf(&doc, "---\napiVersion: kubedesk.io/v1alpha1\nkind: RoutingRule\nmetadata: {name: rule-%03d}\nspec:\n  tenantRef: {name: %s}\n  order: %d\n", i, tenantID, i+1)
				fmt.Fprintf(&doc, "  when: {channels: [email, web], keywords: [问题%03d, 故障%03d, issue%03d, fault%03d]}\n", i, i, i, i)
				fmt.Fprintf(&doc, "  then: {group: group-%02d, addTags: [r%03d]", i%groups, i)
				if i%4 == 0 {
					fmt.Fprintf(&doc, ", requireSkills: [{name: %s, minLevel: 1}]", skills[i%len(skills)])
				}
				doc.WriteString("}\n")
			}
			file := filepath.Join(b.TempDir(), "rules.yaml")
			if err := os.WriteFile(file, []byte(doc.String()), 0o600); err != nil {
				b.Fatal(err)
			}
			rs := &routingRules{inForce: rules.NewInForce(), path: file, cat: routingCatalogue{st}, log: slog.New(slog.DiscardHandler)}
			rs.Reload()
			if rs.loadErr != "" {
				b.Fatal(rs.loadErr)
			}
			router := &routing.Router{Store: st, Rules: rs, Tickets: decisionSink{}, OfflineGrace: time.Minute, Log: slog.New(slog.DiscardHandler)}
			// A description of realistic length, in both languages.
			description := strings.Repeat("客户反映昨天开始无法登录系统，重置密码后仍然提示错误。The customer cannot sign in since yesterday. ", 12)
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				r := (i * 7) % ruleCount
				ev := &ticketv1.Event{
					Cursor: fmt.Sprintf("c%09d", i), Type: ticketv1.EventType_EVENT_TYPE_TICKET_CREATED,
					Ticket: &ticketv1.Ticket{
						Id: uuid.Must(uuid.NewV7()).String(), Tenant: tenantID, Channel: ticketv1.Channel_CHANNEL_EMAIL,
						Subject: fmt.Sprintf("打印机故障%03d，急", r), Description: description,
						Priority: ticketv1.Priority_PRIORITY_P3, Status: ticketv1.Status_STATUS_NEW, CreateTime: timestamppb.Now(),
					},
				}
				start := time.Now()
				if err := router.Handle(ctx, ev); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			loads, err := st.Loads(ctx, tenantID, nil)
			if err != nil {
				b.Fatal(err)
			}
			assigned := 0
			for _, l := range loads {
				assigned += l["email"]
			}
			if assigned != b.N {
				b.Fatalf("%d of %d tickets assigned", assigned, b.N)
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
