// Package wechat is the WeChat Official Account (微信公众号) channel: the
// callback that verifies, decrypts and stores each message a tenant's
// account receives before it answers WeChat (within its 5 s), and the
// worker that turns stored messages into tickets and comments afterwards.
// The protocol itself is package mp.
package wechat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/kubedesk/kubedesk/services/channel/store"
	"github.com/kubedesk/kubedesk/services/channel/wechat/mp"
)

// Mode is an account's message encryption (消息加解密方式).
type Mode string

// The modes WeChat offers.
const (
	ModePlain      Mode = "plain"      // 明文模式
	ModeCompatible Mode = "compatible" // 兼容模式: plain fields and the encrypted message side by side
	ModeSafe       Mode = "safe"       // 安全模式: only the encrypted message
)

// Account is what the callback needs of a tenant's Official Account.
type Account struct {
	Tenant string
	Token  string
	Mode   Mode
	// Cipher opens encrypted messages; nil in plain mode.
	Cipher *mp.Cipher
}

// Accounts finds the account of a tenant.
type Accounts interface {
	Account(tenant string) (Account, bool)
}

// Inbox is where a callback stores messages before it answers.
type Inbox interface {
	RecordWeChat(ctx context.Context, m store.WeChatMessage) (bool, error)
}

// Callback answers WeChat's calls to a tenant's callback URL.
type Callback struct {
	Accounts Accounts
	Inbox    Inbox
	// Now is the clock timestamps are checked against; time.Now if nil.
	Now func() time.Time
	Log *slog.Logger
	// Received, if set, is told of every message stored (the worker
	// wakes up).
	Received func()
}

// Response is what the callback answers.
type Response struct {
	Status      int
	ContentType string
	Body        []byte
}

func plain(status int, body string) Response {
	return Response{Status: status, ContentType: "text/plain; charset=utf-8", Body: []byte(body)}
}

// success is the answer WeChat expects when no passive reply is sent.
var success = plain(http.StatusOK, "success")

// Handle answers one call: GET verifies the URL (echoes echostr when the
// signature matches), POST stores a message and answers "success". A bad
// signature or an old timestamp is 401, a body that is not a message of
// the account 400, and in both cases nothing is stored; a store failure
// is 503, and WeChat retries.
func (c *Callback) Handle(ctx context.Context, tenantID, method string, query url.Values, body []byte) Response {
	acct, ok := c.Accounts.Account(tenantID)
	if !ok {
		return plain(http.StatusNotFound, "no WeChat account is configured for this tenant")
	}
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	sig, ts, nonce := query.Get("signature"), query.Get("timestamp"), query.Get("nonce")
	if err := mp.Verify(sig, acct.Token, ts, nonce, now); err != nil {
		c.log().WarnContext(ctx, "wechat callback refused", "tenant", tenantID, "err", err)
		return plain(http.StatusUnauthorized, "signature or timestamp refused")
	}
	switch method {
	case http.MethodGet:
		return plain(http.StatusOK, query.Get("echostr"))
	case http.MethodPost:
	default:
		return plain(http.StatusMethodNotAllowed, "GET verifies the URL, POST delivers a message")
	}
	msg, raw, err := c.open(acct, query, body, now)
	if err != nil {
		c.log().WarnContext(ctx, "wechat message refused", "tenant", tenantID, "err", err)
		if errors.Is(err, mp.ErrSignature) {
			return plain(http.StatusUnauthorized, "signature or timestamp refused")
		}
		return plain(http.StatusBadRequest, err.Error())
	}
	created, err := c.Inbox.RecordWeChat(ctx, store.WeChatMessage{
		Tenant: tenantID, DedupKey: msg.DedupKey(), OpenID: msg.FromUserName, MsgType: string(msg.MsgType), Payload: raw,
	})
	if err != nil {
		c.log().ErrorContext(ctx, "storing a wechat message", "tenant", tenantID, "err", err)
		return plain(http.StatusServiceUnavailable, "not stored; retry")
	}
	if created && c.Received != nil {
		c.Received()
	}
	return success
}

// open checks and decrypts a POSTed message as the account's mode says,
// and returns it with the XML it was read from.
func (c *Callback) open(acct Account, query url.Values, body []byte, now time.Time) (*mp.Message, []byte, error) {
	if len(body) > mp.MaxBody {
		return nil, nil, fmt.Errorf("%w: body larger than %d bytes", mp.ErrMalformed, mp.MaxBody)
	}
	outer, err := mp.ParseBytes(body)
	if err != nil {
		return nil, nil, err
	}
	encrypted := query.Get("encrypt_type") == "aes" || acct.Mode == ModeSafe
	if !encrypted {
		if outer.Encrypt != "" && outer.MsgType == "" {
			return nil, nil, fmt.Errorf("%w: an encrypted message without encrypt_type=aes", mp.ErrMalformed)
		}
		if acct.Mode == ModeSafe {
			return nil, nil, fmt.Errorf("%w: the account is in safe mode; plain messages are refused", mp.ErrMalformed)
		}
		return outer, body, nil
	}
	if acct.Cipher == nil {
		return nil, nil, fmt.Errorf("%w: an encrypted message, and the account has no encodingAESKey", mp.ErrMalformed)
	}
	if outer.Encrypt == "" {
		return nil, nil, fmt.Errorf("%w: Encrypt: empty with encrypt_type=aes", mp.ErrMalformed)
	}
	if err := mp.Verify(query.Get("msg_signature"), acct.Token, query.Get("timestamp"), query.Get("nonce"), now, outer.Encrypt); err != nil {
		return nil, nil, err
	}
	plain, err := acct.Cipher.Decrypt(outer.Encrypt)
	if err != nil {
		return nil, nil, err
	}
	inner, err := mp.ParseBytes(plain)
	if err != nil {
		return nil, nil, err
	}
	if inner.Encrypt != "" || inner.MsgType == "" {
		return nil, nil, fmt.Errorf("%w: the decrypted message is not a message", mp.ErrMalformed)
	}
	return inner, bytes.Clone(plain), nil
}

func (c *Callback) log() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.New(slog.DiscardHandler)
}
