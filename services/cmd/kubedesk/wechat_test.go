package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubedesk/kubedesk/services/channel/wechat/mp"
	"github.com/kubedesk/kubedesk/services/channel/wechat/mp/mptest"
)

const (
	wxAppID  = "wx0123456789abcdef"
	wxSecret = "app-secret-of-the-test-account"
	wxToken  = "kubedeskToken1"
	wxAESKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
)

// weChatTenants: acme's account is in safe mode, globex's (a test
// account) in plain mode; both reach the local WeChat API at api.
func weChatTenants(api string) string {
	return fmt.Sprintf(`apiVersion: kubedesk.io/v1alpha1
kind: HelpdeskTenant
metadata: {name: acme}
spec:
  channels:
    wechat:
      appID: %[1]s
      appSecret: {value: %[2]s}
      token: {value: %[3]s}
      encodingAESKey: {value: %[4]s}
      apiBaseURL: %[5]s
      group: wechat
---
apiVersion: kubedesk.io/v1alpha1
kind: HelpdeskTenant
metadata: {name: globex}
spec:
  channels:
    wechat:
      appID: %[1]s
      appSecret: {value: %[2]s}
      token: {value: %[3]s}
      mode: plain
      apiBaseURL: %[5]s
`, wxAppID, wxSecret, wxToken, wxAESKey, api)
}

// weChatUser sends a tenant's callback URL what WeChat would: signed, and
// in safe mode encrypted.
type weChatUser struct {
	srv    *instance
	tenant string
	cipher *mp.Cipher // nil: plain mode
	msgID  atomic.Int64
}

// message is a text message from openid with a fresh MsgId.
func (u *weChatUser) message(openid, content string) string {
	return fmt.Sprintf("<xml><ToUserName><![CDATA[gh_acme]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName><CreateTime>%d</CreateTime>"+
		"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content><MsgId>%d</MsgId></xml>",
		openid, time.Now().Unix(), content, 7_000_000+u.msgID.Add(1))
}

// post delivers msg as WeChat would at time at, and returns the answer.
func (u *weChatUser) post(t testing.TB, msg string, at time.Time) (int, string) {
	t.Helper()
	ts := strconv.FormatInt(at.Unix(), 10)
	q := url.Values{"timestamp": {ts}, "nonce": {"1234567"}, "signature": {mp.Sign(wxToken, ts, "1234567")}}
	body := []byte(msg)
	if u.cipher != nil {
		enc, err := u.cipher.Encrypt(body)
		if err != nil {
			t.Fatal(err)
		}
		q.Set("encrypt_type", "aes")
		q.Set("msg_signature", mp.Sign(wxToken, ts, "1234567", enc))
		body = []byte("<xml><ToUserName><![CDATA[gh_acme]]></ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>")
	}
	return u.raw(t, http.MethodPost, q, body)
}

// raw calls the callback URL with query and body as they are.
func (u *weChatUser) raw(t testing.TB, method string, q url.Values, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u.srv.base+"/channels/wechat/"+u.tenant+"?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// TestWeChat runs the WeChat channel end to end on both engines, through
// the gateway's callback URL and a local WeChat API server.
func TestWeChat(t *testing.T) {
	for engine, args := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			api := mptest.Start(t, wxAppID, wxSecret)
			file := filepath.Join(t.TempDir(), "kubedesk.yaml")
			writeFile(t, file, weChatTenants(api.URL()))
			srv := startServe(t, append(args, "--config="+file)...)
			cipher, err := mp.NewCipher(wxAESKey, wxAppID)
			if err != nil {
				t.Fatal(err)
			}
			acme := &weChatUser{srv: srv, tenant: "acme", cipher: cipher}
			globex := &weChatUser{srv: srv, tenant: "globex"}
			t.Run("verification", func(t *testing.T) { testWeChatVerification(t, globex) })
			t.Run("conversation", func(t *testing.T) { testWeChatConversation(t, acme, api) })
			t.Run("refusals", func(t *testing.T) { testWeChatRefusals(t, acme, globex) })
			t.Run("linking", func(t *testing.T) { testWeChatLinking(t, globex) })
		})
	}
}

func testWeChatVerification(t *testing.T, u *weChatUser) {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	q := url.Values{"timestamp": {ts}, "nonce": {"42"}, "signature": {mp.Sign(wxToken, ts, "42")}, "echostr": {"7269874306851893461"}}
	if code, body := u.raw(t, http.MethodGet, q, nil); code != http.StatusOK || body != "7269874306851893461" {
		t.Errorf("verification: %d %q, want 200 and echostr", code, body)
	}
	q.Set("signature", mp.Sign("another-token", ts, "42"))
	if code, body := u.raw(t, http.MethodGet, q, nil); code != http.StatusUnauthorized || strings.Contains(body, "7269874306851893461") {
		t.Errorf("verification with another token's signature: %d %q, want 401 without echostr", code, body)
	}
	if code, _ := (&weChatUser{srv: u.srv, tenant: "initech"}).raw(t, http.MethodGet, q, nil); code != http.StatusNotFound {
		t.Errorf("a tenant without an account: %d, want 404", code)
	}
}

// testWeChatConversation: a user's message (sent twice, as WeChat retries)
// opens one ticket in the account's group; an image is fetched and
// attached; an agent's reply reaches the user through the API; outside
// the 48-hour window a reply is held with a note, and goes once the user
// writes again.
func testWeChatConversation(t *testing.T, u *weChatUser, api *mptest.Server) {
	first := u.message("oZhangWei", "打印机连不上了，急用")
	for range 2 {
		if code, body := u.post(t, first, time.Now()); code != http.StatusOK || body != "success" {
			t.Fatalf("message: %d %q, want 200 success", code, body)
		}
	}
	tk := waitWeChatTicket(t, u, "oZhangWei")
	id := tk["id"].(string)
	if tk["subject"] != "打印机连不上了，急用" || tk["channel"] != "CHANNEL_WECHAT" || tk["group"] != "wechat" {
		t.Errorf("ticket %v", tk)
	}
	if req := tk["requester"].(map[string]any); req["contactId"] == nil || req["contactId"] == "" {
		t.Errorf("requester %v: no contact", req)
	}

	photo := bytes.Repeat([]byte("\xff\xd8\xff\xe0 photo of the printer "), 5000)
	api.AddMedia("media-printer", "image/jpeg", photo)
	image := fmt.Sprintf("<xml><ToUserName>gh_acme</ToUserName><FromUserName>oZhangWei</FromUserName><CreateTime>%d</CreateTime><MsgType>image</MsgType>"+
		"<PicUrl>http://mmbiz.qpic.cn/x</PicUrl><MediaId>media-printer</MediaId><MsgId>%d</MsgId></xml>", time.Now().Unix(), 7_100_000+u.msgID.Add(1))
	if code, _ := u.post(t, image, time.Now()); code != http.StatusOK {
		t.Fatalf("image: %d", code)
	}
	m := &mailbox{t: t, srv: u.srv}
	comments := m.waitComments(t, u.tenant, id, 1)
	atts, _ := comments[0]["attachments"].([]any)
	if comments[0]["body"] != "[图片 image]" || len(atts) != 1 {
		t.Fatalf("image comment %v, want one attachment", comments[0])
	}
	att := atts[0].(map[string]any)
	got := u.srv.call(t, "GET", "/v1/tickets/"+id+"/attachments/"+att["id"].(string), nil, "X-Kubedesk-Tenant", u.tenant)
	if !bytes.Equal(got.body, photo) {
		t.Errorf("attachment has %d bytes, want the photo's %d", len(got.body), len(photo))
	}

	reply := map[string]any{"body": "请重启打印机后再试", "authorType": "AUTHOR_TYPE_AGENT", "visibility": "VISIBILITY_PUBLIC"}
	u.srv.mustCall(t, http.StatusOK, "POST", "/v1/tickets/"+id+"/comments", reply, "X-Kubedesk-Tenant", u.tenant)
	sent := waitSent(t, api, 1)
	if sent[0].ToUser != "oZhangWei" || sent[0].Content != "请重启打印机后再试" || sent[0].MsgType != "text" {
		t.Errorf("sent %+v", sent[0])
	}

	// WeChat refuses: the user has not written for 48 hours.
	api.OutsideWindow("oZhangWei", true)
	reply["body"] = "打印机修好了吗？"
	u.srv.mustCall(t, http.StatusOK, "POST", "/v1/tickets/"+id+"/comments", reply, "X-Kubedesk-Tenant", u.tenant)
	notes := m.waitComments(t, u.tenant, id, 4)
	if n := notes[3]; n["visibility"] != "VISIBILITY_INTERNAL" || !strings.Contains(n["body"].(string), "Held, not sent by WeChat") {
		t.Errorf("held reply note %v", n)
	}
	api.OutsideWindow("oZhangWei", false)
	if code, _ := u.post(t, u.message("oZhangWei", "还是不行"), time.Now()); code != http.StatusOK {
		t.Fatalf("message: %d", code)
	}
	if sent := waitSent(t, api, 2); sent[1].Content != "打印机修好了吗？" {
		t.Errorf("held reply sent as %+v", sent[1])
	}
	if c := m.waitComments(t, u.tenant, id, 5); len(c) != 5 || c[4]["body"] != "还是不行" {
		t.Errorf("comments %v", c)
	}
}

// testWeChatRefusals: what is refused is not stored.
func testWeChatRefusals(t *testing.T, safe, plain *weChatUser) {
	now := time.Now()
	ts := strconv.FormatInt(now.Unix(), 10)
	signed := url.Values{"timestamp": {ts}, "nonce": {"9"}, "signature": {mp.Sign(wxToken, ts, "9")}}
	badSig := url.Values{"timestamp": {ts}, "nonce": {"9"}, "signature": {strings.Repeat("0", 40)}}
	enc, err := safe.cipher.Encrypt([]byte(safe.message("oRefused", "x")))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(enc)
	raw[len(raw)-1] ^= 0x55 // the padding no longer checks out
	broken := base64.StdEncoding.EncodeToString(raw)
	brokenQuery := url.Values{"timestamp": {ts}, "nonce": {"9"}, "signature": {mp.Sign(wxToken, ts, "9")}, "encrypt_type": {"aes"}, "msg_signature": {mp.Sign(wxToken, ts, "9", broken)}}
	for _, tt := range []struct {
		name  string
		u     *weChatUser
		query url.Values
		body  string
		want  int
	}{
		{"bad signature", plain, badSig, plain.message("oRefused", "x"), http.StatusUnauthorized},
		{"a replayed old timestamp", safe, nil, "", http.StatusUnauthorized},
		{"DOCTYPE with an entity", plain, signed, `<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]>` + plain.message("oRefused", "&e;"), http.StatusBadRequest},
		{"1 MB of XML", plain, signed, plain.message("oRefused", strings.Repeat("长", 1<<18)), http.StatusBadRequest},
		{"broken AES padding", safe, brokenQuery, "<xml><Encrypt><![CDATA[" + broken + "]]></Encrypt></xml>", http.StatusBadRequest},
		{"a plain message to a safe-mode account", safe, signed, plain.message("oRefused", "x"), http.StatusBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var code int
			var body string
			if tt.query == nil {
				code, body = tt.u.post(t, tt.u.message("oRefused", "x"), now.Add(-6*time.Minute))
			} else {
				code, body = tt.u.raw(t, http.MethodPost, tt.query, []byte(tt.body))
			}
			if code != tt.want {
				t.Errorf("%d %q, want %d", code, body, tt.want)
			}
		})
	}
	time.Sleep(200 * time.Millisecond) // the worker would have made a ticket by now
	for _, u := range []*weChatUser{safe, plain} {
		if got := u.srv.listAll(t, "filter="+url.QueryEscape("requester = wechat:oRefused"), "X-Kubedesk-Tenant", u.tenant); len(got) != 0 {
			t.Errorf("tenant %s: refused calls made tickets %v", u.tenant, got)
		}
	}
}

// testWeChatLinking: a follower becomes a contact when they subscribe; an
// agent links that contact to the customer's existing one by merging it,
// and the follower's messages then belong to that customer.
func testWeChatLinking(t *testing.T, u *weChatUser) {
	subscribe := fmt.Sprintf("<xml><ToUserName>gh_globex</ToUserName><FromUserName>oLiNa</FromUserName><CreateTime>%d</CreateTime><MsgType>event</MsgType><Event>subscribe</Event></xml>", time.Now().Unix())
	if code, _ := u.post(t, subscribe, time.Now()); code != http.StatusOK {
		t.Fatalf("subscribe: %d", code)
	}
	var follower map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for follower == nil {
		list := u.srv.mustCall(t, http.StatusOK, "GET", "/v1/contacts?filter="+url.QueryEscape("identity = wechat:oLiNa"), nil, "X-Kubedesk-Tenant", u.tenant)
		if cs, _ := list.json["contacts"].([]any); len(cs) == 1 {
			follower = cs[0].(map[string]any)
		} else if time.Now().After(deadline) {
			t.Fatalf("no contact for the follower after 10s: %v", list.json)
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
	customer := u.srv.mustCall(t, http.StatusOK, "POST", "/v1/contacts", map[string]any{
		"displayName": "李娜", "identities": []map[string]any{{"type": "IDENTITY_TYPE_EMAIL", "value": "li.na@globex.example"}},
	}, "X-Kubedesk-Tenant", u.tenant).json
	u.srv.mustCall(t, http.StatusOK, "POST", "/v1/contacts/"+follower["id"].(string)+":merge", map[string]any{"into": customer["id"]}, "X-Kubedesk-Tenant", u.tenant)

	if code, _ := u.post(t, u.message("oLiNa", "发票开错了"), time.Now()); code != http.StatusOK {
		t.Fatalf("message: %d", code)
	}
	tk := waitWeChatTicket(t, u, "oLiNa")
	if got := tk["requester"].(map[string]any)["contactId"]; got != customer["id"] {
		t.Errorf("the linked follower's ticket names contact %v, want the customer %v", got, customer["id"])
	}
}

// waitWeChatTicket waits for the ticket of the WeChat user openid.
func waitWeChatTicket(t *testing.T, u *weChatUser, openid string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		list := u.srv.listAll(t, "filter="+url.QueryEscape("requester = wechat:"+openid), "X-Kubedesk-Tenant", u.tenant)
		if len(list) > 1 {
			t.Fatalf("%d tickets for %s, want one: %v", len(list), openid, list)
		}
		if len(list) == 1 {
			return list[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ticket for %s after 10s", openid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitSent waits until the local WeChat API has received n messages.
func waitSent(t *testing.T, api *mptest.Server, n int) []mptest.Sent {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if sent := api.Sent(); len(sent) >= n {
			return sent
		}
		if time.Now().After(deadline) {
			t.Fatalf("WeChat got %d messages after 10s, want %d: %+v", len(api.Sent()), n, api.Sent())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
