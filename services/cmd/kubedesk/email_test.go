package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/smtp"
	"net/textproto"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gomail "github.com/emersion/go-message/mail"

	"github.com/kubedesk/kubedesk/services/channel/smtpout/smtptest"
	"github.com/kubedesk/kubedesk/services/channel/wechat/mp/mptest"
)

// mailTenants are two tenants with their own inbound addresses, in
// Chinese and in English.
const mailTenants = `apiVersion: kubedesk.io/v1alpha1
kind: HelpdeskTenant
metadata: {name: acme}
spec:
  displayName: 艾克米
  locale: zh-CN
  timeZone: Asia/Shanghai
  channels:
    email:
      inbound: [{address: support@acme.example, group: support}, {address: billing@acme.example, group: billing}]
      from: 艾克米客服 <support@acme.example>
---
apiVersion: kubedesk.io/v1alpha1
kind: HelpdeskTenant
metadata: {name: globex}
spec:
  displayName: Globex
  channels:
    email:
      inbound: [{address: help@globex.example}]
`

// TestEmail runs the e-mail channel end to end on both engines: mail in
// over SMTP, threading, the acknowledgement and agents' replies out to a
// local SMTP sink, and the noise that must not become tickets.
func TestEmail(t *testing.T) {
	for engine, args := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			sink := smtptest.Start(t)
			file := filepath.Join(t.TempDir(), "kubedesk.yaml")
			writeFile(t, file, mailTenants)
			srv := startServe(t, append(args, "--config="+file, "--smtp-relay="+sink.URL())...)
			m := &mailbox{t: t, srv: srv, sink: sink}
			t.Run("conversation", func(t *testing.T) { testMailConversation(t, m) })
			t.Run("noise", func(t *testing.T) { testMailNoise(t, m) })
			t.Run("refusals", func(t *testing.T) { testMailRefusals(t, m) })
			t.Run("tenants", func(t *testing.T) { testMailTenants(t, m) })
			t.Run("attachments", func(t *testing.T) { testMailAttachments(t, m) })
			t.Run("delivery failure", func(t *testing.T) { testMailDeliveryFailure(t, m) })
		})
	}
}

// TestEmailDefaultAddress checks the all-in-one without configuration:
// the default tenant receives support@default.localhost, and with no
// relay the acknowledgement is held and the ticket says so.
func TestEmailDefaultAddress(t *testing.T) {
	srv := startServe(t)
	m := &mailbox{t: t, srv: srv}
	m.send(t, "default", mailText{from: "Li Na <li.na@example.com>", to: "support@default.localhost", id: "first@example.com", subject: "VPN 断线", body: "VPN 每隔十分钟断一次。"})
	tk := m.ticketOf(t, "default", "li.na@example.com", "VPN 断线")
	if tk["channel"] != "CHANNEL_EMAIL" || tk["subject"] != "VPN 断线" {
		t.Errorf("ticket %v", tk)
	}
	notes := m.waitComments(t, "default", tk["id"].(string), 1)
	if body := notes[0]["body"].(string); !strings.Contains(body, "no SMTP relay is configured") || notes[0]["visibility"] != "VISIBILITY_INTERNAL" {
		t.Errorf("held acknowledgement note %v", notes[0])
	}
}

func testMailConversation(t *testing.T, m *mailbox) {
	const tenantID = "acme"
	// A Chinese mail in GB2312, as many clients in China still send.
	m.send(t, tenantID, mailText{
		from: "=?GB2312?B?1cXOsA==?= <zhang.wei@example.com>", to: "support@acme.example", id: "conv-1@example.com",
		subject: "=?GB2312?B?tPLTobv6zt63qMGsvdM=?=", charset: "GB2312", body: "\xc8\xfd\xc2\xa5\xb5\xc4\xb4\xf2\xd3\xa1\xbb\xfa\xc1\xac\xb2\xbb\xc9\xcf\xa1\xa3",
	})
	tk := m.ticketOf(t, tenantID, "zhang.wei@example.com", "打印机无法连接")
	id := tk["id"].(string)
	req := tk["requester"].(map[string]any)
	if tk["subject"] != "打印机无法连接" || tk["description"] != "三楼的打印机连不上。" || tk["group"] != "support" || tk["channel"] != "CHANNEL_EMAIL" {
		t.Errorf("ticket %v", tk)
	}
	if req["email"] != "zhang.wei@example.com" || req["name"] != "张伟" || req["contactId"] == nil {
		t.Errorf("requester %v", req)
	}
	number := fmt.Sprint(tk["number"])

	// The acknowledgement, in the tenant's language, threads to the mail.
	ack := m.sink.Wait(t, 1, 10*time.Second)[0]
	h := header(t, ack.Data)
	if subj, _ := h.Subject(); subj != "Re: 打印机无法连接 [#"+number+"]" {
		t.Errorf("acknowledgement subject %q", subj)
	}
	if got := h.Get("In-Reply-To"); got != "<conv-1@example.com>" {
		t.Errorf("acknowledgement In-Reply-To %q", got)
	}
	if h.Get("Auto-Submitted") != "auto-replied" || !strings.Contains(string(ack.Data), "=E5=B7=A5=E5=8D=95") && !strings.Contains(body(t, ack.Data), "工单编号 #"+number) {
		t.Errorf("acknowledgement %s", ack.Data)
	}
	ackID := strings.Trim(h.Get("Message-Id"), "<>")

	// The customer answers the acknowledgement: a comment on the ticket.
	m.send(t, tenantID, mailText{from: "zhang.wei@example.com", to: "support@acme.example", id: "conv-2@example.com", inReplyTo: ackID,
		subject: "Re: 打印机无法连接 [#" + number + "]", body: "型号是 HP LaserJet。\n\n在 2026年12月7日 10:00，艾克米客服 <support@acme.example> 写道：\n> 我们已收到您的请求"})
	comments := m.waitComments(t, tenantID, id, 1)
	if c := comments[0]; c["body"] != "型号是 HP LaserJet。" || c["authorType"] != "AUTHOR_TYPE_CUSTOMER" {
		t.Errorf("customer comment %v (the quote folded away)", c)
	}

	// An agent's public reply goes out to the customer, in the thread.
	m.srv.mustCall(t, http.StatusOK, "POST", "/v1/tickets/"+id+"/comments", map[string]any{"body": "请重启打印机后再试。"}, "X-Kubedesk-Tenant", tenantID)
	reply := m.sink.Wait(t, 2, 10*time.Second)[1]
	rh := header(t, reply.Data)
	if reply.To[0] != "zhang.wei@example.com" || rh.Get("In-Reply-To") != "<conv-2@example.com>" || !strings.Contains(rh.Get("References"), "<conv-1@example.com>") {
		t.Errorf("reply envelope %v headers %v", reply.To, rh.Header)
	}
	if !strings.Contains(body(t, reply.Data), "请重启打印机后再试。") {
		t.Errorf("reply body %s", reply.Data)
	}

	// The number token alone threads too, and a solved ticket reopens.
	m.srv.mustCall(t, http.StatusOK, "PATCH", "/v1/tickets/"+id+"?update_mask=status", map[string]any{"status": "STATUS_SOLVED"}, "X-Kubedesk-Tenant", tenantID)
	m.send(t, tenantID, mailText{from: "zhang.wei@example.com", to: "support@acme.example", id: "conv-3@example.com", subject: "又坏了 [#" + number + "]", body: "又连不上了。"})
	m.waitComments(t, tenantID, id, 3) // ours, the agent's, this one
	if st := m.srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets/"+id, nil, "X-Kubedesk-Tenant", tenantID).str("status"); st != "STATUS_OPEN" {
		t.Errorf("status after the customer's reply to a solved ticket: %s, want STATUS_OPEN", st)
	}

	// The same Message-ID again is a no-op.
	m.send(t, tenantID, mailText{from: "zhang.wei@example.com", to: "support@acme.example", id: "conv-3@example.com", subject: "又坏了 [#" + number + "]", body: "又连不上了。"})
	time.Sleep(200 * time.Millisecond)
	if n := len(m.comments(t, tenantID, id)); n != 3 {
		t.Errorf("%d comments after a duplicate Message-ID, want 3", n)
	}
}

func testMailNoise(t *testing.T, m *mailbox) {
	const tenantID = "globex"
	before := len(m.srv.listAll(t, "", "X-Kubedesk-Tenant", tenantID))
	sent := len(m.sink.Messages())
	for _, tt := range []struct {
		name string
		mail mailText
	}{
		{"auto-reply", mailText{from: "a@example.com", extra: "Auto-Submitted: auto-replied\r\n"}},
		{"bulk", mailText{from: "news@example.com", extra: "Precedence: bulk\r\n"}},
		{"list", mailText{from: "list@example.com", extra: "List-Id: <users.example.com>\r\n"}},
		{"mailer-daemon", mailText{from: "MAILER-DAEMON@example.com"}},
		{"bounce", mailText{from: "postmaster@example.com", contentType: "multipart/report; report-type=delivery-status; boundary=b", body: "--b\r\nContent-Type: text/plain\r\n\r\nundeliverable\r\n--b--\r\n"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.mail.to, tt.mail.id, tt.mail.subject = "help@globex.example", tt.name+"@noise.example", "noise: "+tt.name
			if tt.mail.body == "" {
				tt.mail.body = "out of office"
			}
			m.send(t, tenantID, tt.mail)
		})
	}
	time.Sleep(300 * time.Millisecond)
	if after := len(m.srv.listAll(t, "", "X-Kubedesk-Tenant", tenantID)); after != before {
		t.Errorf("noise made %d tickets", after-before)
	}
	if n := len(m.sink.Messages()); n != sent {
		t.Errorf("noise was answered by %d mails", n-sent)
	}
}

func testMailRefusals(t *testing.T, m *mailbox) {
	tests := []struct {
		name, to, raw string
		code          int
	}{
		{"unknown recipient", "nobody@acme.example", "From: a@example.com\r\nSubject: x\r\n\r\nx\r\n", 550},
		{"missing From", "support@acme.example", "Subject: no sender\r\nMessage-ID: <nofrom@example.com>\r\n\r\nbody\r\n", 550},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := smtp.SendMail(m.srv.smtp, nil, "a@example.com", []string{tt.to}, []byte(tt.raw))
			var te *textproto.Error
			if !errors.As(err, &te) || te.Code != tt.code {
				t.Fatalf("SendMail = %v, want a %d reply", err, tt.code)
			}
		})
	}
}

func testMailTenants(t *testing.T, m *mailbox) {
	// A mail to globex that claims to answer acme's mail is a new globex
	// ticket: Message-IDs thread only within a tenant.
	m.send(t, "globex", mailText{from: "eve@example.com", to: "help@globex.example", id: "forged@example.com", inReplyTo: "conv-1@example.com", subject: "hello", body: "hi"})
	tk := m.ticketOf(t, "globex", "eve@example.com", "hello")
	if tk["tenant"] != "globex" || tk["subject"] != "hello" {
		t.Errorf("forged In-Reply-To: %v", tk)
	}
	// The group comes from the address it was sent to.
	m.send(t, "acme", mailText{from: "cfo@example.com", to: "billing@acme.example", id: "bill@example.com", subject: "发票", body: "请开发票"})
	if g := m.ticketOf(t, "acme", "cfo@example.com", "发票")["group"]; g != "billing" {
		t.Errorf("group %v, want billing", g)
	}
}

func testMailAttachments(t *testing.T, m *mailbox) {
	png := []byte("\x89PNG\r\n\x1a\nfake image bytes")
	raw := "From: wang.fang@example.com\r\nTo: support@acme.example\r\nSubject: screenshot\r\nMessage-ID: <att-1@example.com>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n" +
		"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nsee attached\r\n" +
		"--XX\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename*=UTF-8''%E6%88%AA%E5%9B%BE.png\r\n\r\n" +
		base64.StdEncoding.EncodeToString(png) + "\r\n" +
		"--XX\r\nContent-Type: text/html\r\nContent-Disposition: attachment; filename=evil.html\r\n\r\n<script>alert(1)</script>\r\n" +
		"--XX\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=empty.bin\r\n\r\n\r\n" +
		"--XX--\r\n"
	if err := smtp.SendMail(m.srv.smtp, nil, "wang.fang@example.com", []string{"support@acme.example"}, []byte(raw)); err != nil {
		t.Fatal(err)
	}
	tk := m.ticketOf(t, "acme", "wang.fang@example.com", "screenshot")
	atts, _ := tk["attachments"].([]any)
	if len(atts) != 3 {
		t.Fatalf("attachments %v, want 3", tk["attachments"])
	}
	for i, want := range []struct {
		name, disposition string
		data              []byte
	}{
		{"截图.png", "inline", png},
		{"evil.html", "attachment", []byte("<script>alert(1)</script>")},
		{"empty.bin", "attachment", nil},
	} {
		a := atts[i].(map[string]any)
		if a["filename"] != want.name {
			t.Errorf("attachment %d name %v, want %s", i, a["filename"], want.name)
			continue
		}
		got := m.srv.call(t, "GET", "/v1/tickets/"+tk["id"].(string)+"/attachments/"+a["id"].(string), nil, "X-Kubedesk-Tenant", "acme")
		if got.code != http.StatusOK || !bytes.Equal(bytes.TrimRight(got.body, "\r\n"), want.data) {
			t.Errorf("%s: %d %q, want %q", want.name, got.code, got.body, want.data)
		}
		if cd := got.header.Get("Content-Disposition"); !strings.HasPrefix(cd, want.disposition) {
			t.Errorf("%s: Content-Disposition %q, want %s", want.name, cd, want.disposition)
		}
	}
	// Another tenant does not see it.
	a := atts[0].(map[string]any)
	if got := m.srv.call(t, "GET", "/v1/tickets/"+tk["id"].(string)+"/attachments/"+a["id"].(string), nil, "X-Kubedesk-Tenant", "globex"); got.code != http.StatusNotFound {
		t.Errorf("another tenant reads the attachment: %d", got.code)
	}
}

func testMailDeliveryFailure(t *testing.T, m *mailbox) {
	m.sink.FailRecipient("gone@example.com", 550)
	m.send(t, "globex", mailText{from: "gone@example.com", to: "help@globex.example", id: "gone-1@example.com", subject: "bye", body: "last mail"})
	id := m.ticketOf(t, "globex", "gone@example.com", "bye")["id"].(string)
	// The acknowledgement bounces: the ticket says so in an internal note.
	notes := m.waitComments(t, "globex", id, 1)
	if n := notes[0]; n["visibility"] != "VISIBILITY_INTERNAL" || !strings.Contains(n["body"].(string), "Delivery by e-mail to gone@example.com failed") {
		t.Errorf("delivery failure note %v", n)
	}
}

// mailbox sends mail to a server and finds what it became.
type mailbox struct {
	t    *testing.T
	srv  *instance
	sink *smtptest.Sink
}

// mailText is a test mail; empty fields take defaults.
type mailText struct {
	from, to, id, inReplyTo, subject, body, charset, contentType, extra string
}

func (mt mailText) bytes() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\n", mt.from, mt.to, mt.subject, time.Now().Format(time.RFC1123Z))
	if mt.id != "" {
		fmt.Fprintf(&b, "Message-ID: <%s>\r\n", mt.id)
	}
	if mt.inReplyTo != "" {
		fmt.Fprintf(&b, "In-Reply-To: <%s>\r\nReferences: <%s>\r\n", mt.inReplyTo, mt.inReplyTo)
	}
	ct := mt.contentType
	if ct == "" {
		ct = "text/plain; charset=" + cmp.Or(mt.charset, "utf-8")
	}
	fmt.Fprintf(&b, "MIME-Version: 1.0\r\nContent-Type: %s\r\nContent-Transfer-Encoding: 8bit\r\n%s\r\n%s\r\n", ct, mt.extra, strings.ReplaceAll(mt.body, "\n", "\r\n"))
	return []byte(b.String())
}

// send delivers mt over SMTP and fails the test unless it gets 250.
func (m *mailbox) send(t *testing.T, _ string, mt mailText) {
	t.Helper()
	addr := mt.from
	if i := strings.LastIndexByte(addr, '<'); i >= 0 {
		addr = strings.Trim(addr[i:], "<>")
	}
	if err := smtp.SendMail(m.srv.smtp, nil, addr, []string{mt.to}, mt.bytes()); err != nil {
		t.Fatalf("SendMail %s: %v", mt.id, err)
	}
}

// ticketOf returns the newest ticket of the tenant from sender with that
// subject: the mail is stored by the time SMTP says 250.
func (m *mailbox) ticketOf(t *testing.T, tenantID, sender, subject string) map[string]any {
	t.Helper()
	for _, tk := range m.srv.listAll(t, "filter="+url.QueryEscape("requester = "+sender), "X-Kubedesk-Tenant", tenantID) {
		if tk["subject"] == subject {
			return tk
		}
	}
	t.Fatalf("tenant %s has no ticket from %s with subject %q", tenantID, sender, subject)
	return nil
}

func (m *mailbox) comments(t *testing.T, tenantID, id string) []map[string]any {
	t.Helper()
	r := m.srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets/"+id+"/comments", nil, "X-Kubedesk-Tenant", tenantID)
	list, _ := r.json["comments"].([]any)
	out := make([]map[string]any, len(list))
	for i, c := range list {
		out[i] = c.(map[string]any)
	}
	return out
}

// waitComments waits until the ticket has at least n comments.
func (m *mailbox) waitComments(t *testing.T, tenantID, id string, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := m.comments(t, tenantID, id)
		if len(c) >= n {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("ticket %s has %d comments after 10s, want %d: %v", id, len(c), n, c)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func header(t *testing.T, raw []byte) gomail.Header {
	t.Helper()
	r, err := gomail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("read sent mail: %v\n%s", err, raw)
	}
	return r.Header
}

// body is the text/plain part of a sent mail, decoded.
func body(t *testing.T, raw []byte) string {
	t.Helper()
	return inlinePart(t, raw, "text/plain")
}

// inlinePart is the first inline part of a sent mail of content type ct,
// decoded; "" when it has none.
func inlinePart(t *testing.T, raw []byte, ct string) string {
	t.Helper()
	r, err := gomail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	for {
		p, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			return ""
		}
		if err != nil {
			t.Fatal(err)
		}
		if h, ok := p.Header.(*gomail.InlineHeader); ok {
			if got, _, _ := h.ContentType(); got == ct {
				b, _ := io.ReadAll(p.Body)
				return string(b)
			}
		}
	}
}

// TestEmailOutboundSurvivesRestart stops the server while the relay
// refuses the acknowledgement for now (451): the restarted server sends
// it, once.
func TestEmailOutboundSurvivesRestart(t *testing.T) {
	sink := smtptest.Start(t)
	sink.FailNext(1000, 451, "try again later")
	dataDir := t.TempDir()
	args := []string{"--data-dir=" + dataDir, "--smtp-relay=" + sink.URL()}
	srv := startServe(t, args...)
	m := &mailbox{t: t, srv: srv, sink: sink}
	m.send(t, "default", mailText{from: "zhao.lei@example.com", to: "support@default.localhost", id: "restart@example.com", subject: "restart", body: "是否会重复发送？"})
	m.ticketOf(t, "default", "zhao.lei@example.com", "restart")
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	if n := len(sink.Messages()); n != 0 {
		t.Fatalf("%d mails went out while the relay refused them", n)
	}
	sink.ClearFailures()
	startServe(t, args...)
	got := sink.Wait(t, 1, 15*time.Second)
	time.Sleep(time.Second) // anything sent twice would come now
	if n := len(sink.Messages()); n != 1 {
		t.Fatalf("%d mails after the restart, want the acknowledgement once", n)
	}
	if got[0].To[0] != "zhao.lei@example.com" {
		t.Errorf("sent to %v", got[0].To)
	}
}

// TestChannelSplit runs the channel module in a process of its own, as a
// cluster does: mail it receives becomes a ticket in the ticket service of
// another process, and its contacts are served through the gateway.
func TestChannelSplit(t *testing.T) {
	gwGRPC, channelGRPC := freeAddr(t), freeAddr(t)
	db := pg.NewDatabase(t)
	// The ticket service calls the channel service (requesters named by
	// e-mail become contacts) only while serving, so it starts first.
	backend := startServe(t, "--target=ticket", "--database-url="+db, "--services=iam="+gwGRPC+",channel="+channelGRPC)
	// The channel process has the WeChat accounts; WeChat calls the
	// gateway, which forwards to it.
	api := mptest.Start(t, wxAppID, wxSecret)
	file := filepath.Join(t.TempDir(), "kubedesk.yaml")
	writeFile(t, file, strings.Replace(weChatTenants(api.URL()), "name: globex", "name: default", 1))
	channel := startServe(t, "--target=channel", "--grpc-addr="+channelGRPC, "--database-url="+db, "--services=iam="+gwGRPC+",ticket="+backend.grpc, "--config="+file)
	if channel.smtp == "" {
		t.Fatal("the channel target reported no SMTP address")
	}
	gw := startServe(t, "--target=gateway", "--grpc-addr="+gwGRPC, "--services=ticket="+backend.grpc+",channel="+channel.grpc)
	m := &mailbox{t: t, srv: channel}
	m.send(t, "default", mailText{from: "Wu Fan <wu.fan@example.com>", to: "support@default.localhost", id: "split@example.com", subject: "分开部署", body: "邮件也能用"})
	m.srv = gw
	tk := m.ticketOf(t, "default", "wu.fan@example.com", "分开部署")
	contact, _ := tk["requester"].(map[string]any)["contactId"].(string)
	if got := gw.mustCall(t, http.StatusOK, "GET", "/v1/contacts/"+contact, nil); got.str("displayName") != "Wu Fan" {
		t.Errorf("contact %s through the gateway: %s", contact, got.body)
	}
	// A ticket created through REST for the same address names the same
	// contact: the ticket process asked the channel process.
	created := gw.create(t, map[string]any{"subject": "再问一次", "requester": map[string]any{"email": "wu.fan@example.com"}})
	if got, _ := created.json["requester"].(map[string]any)["contactId"].(string); got != contact {
		t.Errorf("REST ticket for wu.fan@example.com names contact %q, want %s", got, contact)
	}
	// A WeChat message to the gateway's callback URL becomes a ticket.
	wx := &weChatUser{srv: gw, tenant: "default"}
	if code, body := wx.post(t, wx.message("oSplit", "微信也能用"), time.Now()); code != http.StatusOK || body != "success" {
		t.Fatalf("WeChat callback through the gateway: %d %q", code, body)
	}
	if tk := waitWeChatTicket(t, wx, "oSplit"); tk["subject"] != "微信也能用" {
		t.Errorf("WeChat ticket %v", tk)
	}
	gw.mustCall(t, http.StatusOK, "GET", "/readyz", nil)
}

// templateTenants is a tenant in English by default (spec.locale en-US)
// with its own acknowledgement in Chinese and English and its own reply
// wrapper in English.
const templateTenants = `apiVersion: kubedesk.io/v1alpha1
kind: HelpdeskTenant
metadata: {name: initech}
spec:
  displayName: Initech 客服
  channels:
    email:
      inbound: [{address: help@initech.example}]
      templates:
        acknowledgement:
          zh-CN:
            subject: "【{{.Tenant}}】工单已受理：{{.Subject}}"
            text: |
              {{with .Requester}}{{.}}，{{end}}您好！
              您的工单 #{{.Number}} 已创建，我们会尽快回复。
              补充信息请直接回复本邮件（{{.ReplyTo}}），并保留主题中的 {{.Token}}。
          en:
            subject: "[{{.Tenant}}] We got it: {{.Subject}} {{.Token}}"
            text: |
              Hello {{or .Requester "there"}},
              your ticket #{{.Number}} is open ({{.Locale}}).
            html: "<p>Hello {{.Requester}}, ticket <b>#{{.Number}}</b>: {{.Subject}}</p>"
        reply:
          en:
            text: "{{.Body}}\n\n-- {{.Agent}}, {{.Tenant}}"
`

// TestEmailTemplates: a tenant's own templates write its mail, in the
// contact's language, else in the language of the customer's text, else
// in the tenant's; the subject keeps the number token that threads the
// answer, and what the tenant left out is built in.
func TestEmailTemplates(t *testing.T) {
	sink := smtptest.Start(t)
	file := filepath.Join(t.TempDir(), "kubedesk.yaml")
	writeFile(t, file, templateTenants)
	srv := startServe(t, "--config="+file, "--smtp-relay="+sink.URL())
	m := &mailbox{t: t, srv: srv, sink: sink}
	const tenantID = "initech"
	contact := func(email, name, locale string) {
		srv.mustCall(t, http.StatusOK, "POST", "/v1/contacts", map[string]any{
			"displayName": name, "locale": locale,
			"identities": []map[string]any{{"type": "IDENTITY_TYPE_EMAIL", "value": email, "primary": true}},
		}, "X-Kubedesk-Tenant", tenantID)
	}
	contact("li.na@example.com", "李娜", "zh-CN")
	contact("mark@example.com", "Mark", "en-GB")

	for i, tt := range []struct {
		name    string
		mail    mailText
		locale  string
		subject string // %d stands for the ticket's number, here and below
		text    []string
		html    string
	}{
		{
			name:    "the contact's language over the text's",
			mail:    mailText{from: "Li Na <li.na@example.com>", subject: "VPN keeps dropping", body: "The VPN drops every ten minutes."},
			locale:  "zh-CN",
			subject: "【Initech 客服】工单已受理：VPN keeps dropping [#%d]",
			text:    []string{"Li Na，您好！", "您的工单 #%d 已创建", "（help@initech.example），并保留主题中的 [#%d]。"},
		},
		{
			name:    "the contact's language over the text's, in English",
			mail:    mailText{from: "Mark <mark@example.com>", subject: "打印机坏了", body: "三楼的打印机连不上。"},
			locale:  "en",
			subject: "[Initech 客服] We got it: 打印机坏了 [#%d]",
			text:    []string{"Hello Mark,", "your ticket #%d is open (en)."},
			html:    "<p>Hello Mark, ticket <b>#%d</b>: 打印机坏了</p>",
		},
		{
			name:    "no contact locale: the text is Chinese",
			mail:    mailText{from: "=?UTF-8?B?546L6Iqz?= <wang.fang@example.com>", subject: "发票抬头写错了", body: "请帮忙重新开一张发票。"},
			locale:  "zh-CN",
			subject: "【Initech 客服】工单已受理：发票抬头写错了 [#%d]",
			text:    []string{"王芳，您好！", "您的工单 #%d 已创建"},
		},
		{
			name:    "no contact locale, English text: the tenant's locale",
			mail:    mailText{from: "bob@example.com", subject: "Password reset", body: "I cannot sign in."},
			locale:  "en",
			subject: "[Initech 客服] We got it: Password reset [#%d]",
			text:    []string{"Hello there,", "your ticket #%d is open (en)."},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.mail.to, tt.mail.id = "help@initech.example", fmt.Sprintf("tmpl-%d@example.com", i)
			m.send(t, tenantID, tt.mail)
			addr := tt.mail.from
			if j := strings.LastIndexByte(addr, '<'); j >= 0 {
				addr = strings.Trim(addr[j:], "<>")
			}
			tk := m.ticketOf(t, tenantID, addr, tt.mail.subject)
			n := fmt.Sprint(tk["number"])
			num := func(s string) string { return strings.ReplaceAll(s, "%d", n) }
			ack := m.sink.Wait(t, i+1, 10*time.Second)[i]
			if ack.To[0] != addr {
				t.Fatalf("mail %d went to %v, want %s", i, ack.To, addr)
			}
			h := header(t, ack.Data)
			if subj, _ := h.Subject(); subj != num(tt.subject) {
				t.Errorf("subject %q, want %q", subj, num(tt.subject))
			}
			if got := h.Get("Content-Language"); got != tt.locale {
				t.Errorf("Content-Language %q, want %s", got, tt.locale)
			}
			if h.Get("Auto-Submitted") != "auto-replied" || h.Get("In-Reply-To") != "<"+tt.mail.id+">" {
				t.Errorf("acknowledgement headers %v", h.Header)
			}
			text := body(t, ack.Data)
			for _, want := range tt.text {
				if want = num(want); !strings.Contains(text, want) {
					t.Errorf("text lacks %q:\n%s", want, text)
				}
			}
			if tt.html != "" {
				if want := num(tt.html); !strings.Contains(htmlBody(t, ack.Data), want) {
					t.Errorf("html lacks %q:\n%s", want, htmlBody(t, ack.Data))
				}
			}
		})
	}

	// An agent's reply to Mark goes out in the tenant's English wrapper,
	// under the built-in subject; the customer's answer to it threads.
	tk := m.ticketOf(t, tenantID, "mark@example.com", "打印机坏了")
	id, n := tk["id"].(string), fmt.Sprint(tk["number"])
	srv.mustCall(t, http.StatusOK, "POST", "/v1/tickets/"+id+"/comments", map[string]any{"body": "Please restart the printer."}, "X-Kubedesk-Tenant", tenantID)
	reply := m.sink.Wait(t, 5, 10*time.Second)[4]
	rh := header(t, reply.Data)
	if subj, _ := rh.Subject(); subj != "Re: 打印机坏了 [#"+n+"]" {
		t.Errorf("reply subject %q", subj)
	}
	if text := body(t, reply.Data); !strings.HasPrefix(text, "Please restart the printer.\r\n\r\n-- ") || !strings.Contains(text, ", Initech 客服") {
		t.Errorf("reply text %q, want the tenant's wrapper", text)
	}
	m.send(t, tenantID, mailText{from: "mark@example.com", to: "help@initech.example", id: "tmpl-answer@example.com", subject: "Re: 打印机坏了 [#" + n + "]", body: "Done, it works."})
	if c := m.waitComments(t, tenantID, id, 2)[1]; c["body"] != "Done, it works." {
		t.Errorf("the answer to the reply: %v", c)
	}
}

// TestEmailTemplatesRefusedAtStart: a template that does not parse or
// names a placeholder that does not exist stops the start, naming the
// file, the document, the field and what is accepted.
func TestEmailTemplatesRefusedAtStart(t *testing.T) {
	for _, tt := range []struct {
		name, from, to, want string
	}{
		{"misspelt placeholder", "工单已受理：{{.Subject}}", "工单已受理：{{.Sbject}}",
			"spec.channels.email.templates.acknowledgement.zh-CN.subject: template: line 1:21: unknown field .Sbject; accepted: .Number, .Token, .Subject, .Requester, .RequesterEmail, .Description, .Tenant, .ReplyTo, .Locale"},
		{"reply placeholder in an acknowledgement", "is open ({{.Locale}})", "is open ({{.Agent}})",
			"spec.channels.email.templates.acknowledgement.en.text: template: line 2:36: unknown field .Agent; accepted: .Number, .Token, .Subject, .Requester, .RequesterEmail, .Description, .Tenant, .ReplyTo, .Locale"},
		{"does not parse", "ticket <b>#{{.Number}}</b>", "ticket <b>#{{.Number}</b>",
			"spec.channels.email.templates.acknowledgement.en.html: template: line 1: bad character U+007D '}'"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "kubedesk.yaml")
			body := strings.Replace(templateTenants, tt.from, tt.to, 1)
			if body == templateTenants {
				t.Fatalf("%q is not in the configuration", tt.from)
			}
			writeFile(t, file, "apiVersion: kubedesk.io/v1alpha1\nkind: KubedeskConfig\nspec: {logLevel: warn}\n---\n"+body)
			err := run(context.Background(), []string{"serve", "--config=" + file, "--http-addr=127.0.0.1:0", "--grpc-addr=127.0.0.1:0", "--smtp-addr=127.0.0.1:0", "--data-dir=" + t.TempDir()},
				func(string) string { return "" }, io.Discard, io.Discard)
			if err == nil {
				t.Fatal("serve started with an invalid template")
			}
			for _, want := range []string{file + ": document 1: HelpdeskTenant initech: ", tt.want} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

// htmlBody is the text/html part of a sent mail, decoded.
func htmlBody(t *testing.T, raw []byte) string {
	t.Helper()
	return inlinePart(t, raw, "text/html")
}
