package wechat_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubedesk/kubedesk/services/channel/store"
	"github.com/kubedesk/kubedesk/services/channel/wechat"
	"github.com/kubedesk/kubedesk/services/channel/wechat/mp"
)

const (
	token  = "kubedesk-token"
	aesKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	appID  = "wx0123456789abcdef"
)

type accounts map[string]wechat.Account

func (a accounts) Account(tenant string) (wechat.Account, bool) {
	acct, ok := a[tenant]
	return acct, ok
}

// openStore opens a channel store of the test's own, closed when it ends.
func openStore(t *testing.T) *store.SQLite {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "channel.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func textMessage(openid string, msgID int, content string) string {
	return "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[" + openid + "]]></FromUserName><CreateTime>1765000000</CreateTime>" +
		"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[" + content + "]]></Content><MsgId>" + strconv.Itoa(msgID) + "</MsgId></xml>"
}

// signed is a callback query signed with the token at the given time.
func signed(at time.Time, extra ...string) url.Values {
	ts := strconv.FormatInt(at.Unix(), 10)
	q := url.Values{"timestamp": {ts}, "nonce": {"n1"}, "signature": {mp.Sign(token, ts, "n1")}, "openid": {"oUser"}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return q
}

func TestCallback(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	cipher, err := mp.NewCipher(aesKey, appID)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1765000000, 0)
	woken := 0
	cb := &wechat.Callback{
		Accounts: accounts{
			"acme":   {Tenant: "acme", Token: token, Mode: wechat.ModePlain},
			"globex": {Tenant: "globex", Token: token, Mode: wechat.ModeSafe, Cipher: cipher},
			"compat": {Tenant: "compat", Token: token, Mode: wechat.ModeCompatible, Cipher: cipher},
		},
		Inbox:    st,
		Now:      func() time.Time { return now },
		Received: func() { woken++ },
	}
	// safe seals msg for globex and returns its body and query.
	safe := func(msg string, tamper func(q url.Values, enc string) string) ([]byte, url.Values) {
		enc, err := cipher.Encrypt([]byte(msg))
		if err != nil {
			t.Fatal(err)
		}
		q := signed(now, "encrypt_type", "aes")
		if tamper != nil {
			enc = tamper(q, enc)
		}
		q.Set("msg_signature", mp.Sign(token, q.Get("timestamp"), q.Get("nonce"), enc))
		return []byte("<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>"), q
	}
	safeBody, safeQuery := safe(textMessage("oSafe", 900, "安全模式"), nil)
	compatEnc := mustEncrypt(t, cipher, textMessage("oCompat", 901, "兼容"))
	compatBody := strings.Replace(textMessage("oCompat", 901, "兼容"), "</xml>", "<Encrypt><![CDATA["+compatEnc+"]]></Encrypt></xml>", 1)
	compatQuery := signed(now, "encrypt_type", "aes")
	compatQuery.Set("msg_signature", mp.Sign(token, compatQuery.Get("timestamp"), "n1", compatEnc))
	brokenPad, brokenQuery := safe(textMessage("oSafe", 902, "x"), func(q url.Values, enc string) string {
		raw, _ := base64.StdEncoding.DecodeString(enc)
		raw[len(raw)-1] ^= 0x55
		return base64.StdEncoding.EncodeToString(raw)
	})
	badSig := signed(now)
	badSig.Set("signature", strings.Repeat("0", 40))

	tests := []struct {
		name   string
		tenant string
		method string
		query  url.Values
		body   string
		status int
		reply  string
		stored []string // tenant/key of rows this call adds
	}{
		{name: "URL verification", tenant: "acme", method: "GET", query: signed(now, "echostr", "echo-42"), status: 200, reply: "echo-42"},
		{name: "URL verification, bad signature", tenant: "acme", method: "GET", query: func() url.Values { q := signed(now, "echostr", "x"); q.Set("signature", "bad"); return q }(), status: 401},
		{name: "a text message", tenant: "acme", method: "POST", query: signed(now), body: textMessage("oUser", 1, "打印机坏了"), status: 200, reply: "success", stored: []string{"acme/msg:1"}},
		{name: "WeChat's retry of it", tenant: "acme", method: "POST", query: signed(now), body: textMessage("oUser", 1, "打印机坏了"), status: 200, reply: "success"},
		{name: "bad signature", tenant: "acme", method: "POST", query: badSig, body: textMessage("oUser", 2, "x"), status: 401},
		{name: "a replayed old timestamp", tenant: "acme", method: "POST", query: signed(now.Add(-10 * time.Minute)), body: textMessage("oUser", 3, "x"), status: 401},
		{name: "a DOCTYPE with an entity", tenant: "acme", method: "POST", query: signed(now), body: `<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]>` + textMessage("oUser", 4, "&e;"), status: 400},
		{name: "1 MB of XML", tenant: "acme", method: "POST", query: signed(now), body: textMessage("oUser", 5, strings.Repeat("长", 1<<19)), status: 400},
		{name: "not a message", tenant: "acme", method: "POST", query: signed(now), body: "<xml><MsgType>text</MsgType></xml>", status: 400},
		{name: "no such tenant", tenant: "initech", method: "POST", query: signed(now), body: textMessage("oUser", 6, "x"), status: 404},
		{name: "safe mode", tenant: "globex", method: "POST", query: safeQuery, body: string(safeBody), status: 200, reply: "success", stored: []string{"globex/msg:900"}},
		{name: "safe mode, broken AES padding", tenant: "globex", method: "POST", query: brokenQuery, body: string(brokenPad), status: 400},
		{name: "safe mode, msg_signature of another message", tenant: "globex", method: "POST", query: compatQuery, body: string(safeBody), status: 401},
		{name: "safe mode refuses a plain message", tenant: "globex", method: "POST", query: signed(now), body: textMessage("oUser", 7, "x"), status: 400},
		{name: "compatible mode, encrypted", tenant: "compat", method: "POST", query: compatQuery, body: compatBody, status: 200, reply: "success", stored: []string{"compat/msg:901"}},
		{name: "compatible mode, plain", tenant: "compat", method: "POST", query: signed(now), body: textMessage("oCompat", 903, "明文"), status: 200, reply: "success", stored: []string{"compat/msg:903"}},
		{name: "PUT", tenant: "acme", method: "PUT", query: signed(now), status: 405},
	}
	seen := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cb.Handle(ctx, tt.tenant, tt.method, tt.query, []byte(tt.body))
			if got.Status != tt.status {
				t.Fatalf("status %d %q, want %d", got.Status, got.Body, tt.status)
			}
			if tt.reply != "" && string(got.Body) != tt.reply {
				t.Errorf("body %q, want %q", got.Body, tt.reply)
			}
			pending, err := st.PendingWeChat(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(pending) != seen+len(tt.stored) {
				t.Fatalf("%d rows stored, want %d", len(pending), seen+len(tt.stored))
			}
			for i, key := range tt.stored {
				if got := pending[seen+i].Tenant + "/" + pending[seen+i].DedupKey; got != key {
					t.Errorf("stored %s, want %s", got, key)
				}
			}
			seen = len(pending)
		})
	}
	if woken != 4 {
		t.Errorf("the worker was woken %d times, want 4 (once per new message)", woken)
	}
	pending, _ := st.PendingWeChat(ctx, 100)
	for _, p := range pending {
		if p.DedupKey == "msg:900" && !strings.Contains(string(p.Payload), "安全模式") {
			t.Errorf("safe mode stored %q, want the decrypted message", p.Payload)
		}
	}

	t.Run("the store fails: 503, WeChat retries", func(t *testing.T) {
		st.Close()
		got := cb.Handle(ctx, "acme", "POST", signed(now), []byte(textMessage("oUser", 99, "x")))
		if got.Status != http.StatusServiceUnavailable {
			t.Fatalf("status %d, want 503", got.Status)
		}
	})
}

func mustEncrypt(t *testing.T, c *mp.Cipher, msg string) string {
	t.Helper()
	enc, err := c.Encrypt([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	return enc
}
