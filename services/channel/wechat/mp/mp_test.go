package mp

import (
	"bytes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

// The vectors below were made outside Go: the signatures with Python's
// hashlib, the ciphertext with `openssl enc -aes-256-cbc -nopad` over a
// plaintext padded by hand.
const (
	testToken  = "kubedesk-token"
	testKey    = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	testAppID  = "wx0123456789abcdef"
	testCipher = "Q3stYC6hdFzMh9T8HCvyDM4IgQ4/K7m9dl0ABPZ6CYShGkL0iKNFhwzNQKK+bZnVxqXIYzcI4wnwwt8QUmOS3KgXzAqQS7gAEmwr+P0six/N7XKB7QiVDvRme1VJfcxo3rnS+5VutLP0UCP2kJHvJ6a79AGSkLvkSi+Sf4CRHhsQWrUWqbm2Z3sKhlnjJvh44eBqIIzqF+/ugRvbQDIKSU7mPUuEFdgNYSx5E1TziY7VFYfJG5JIRWwjxCJcgCQFd3mqEvoqzKxjP0takpfgJyp7+ZEE1nyorKe0DdKb7nVZHNAQtCuMM4eqRZv0Jb1GM5GEV+s1tFbLIU/0LXa5Ym3cYwLSPzCKxHRTcEU5s/a4DUMpvqwXjXrg5HcesrcV"
	testPlain  = "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oUser]]></FromUserName><CreateTime>1765000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好]]></Content><MsgId>123</MsgId></xml>"
)

func TestVerify(t *testing.T) {
	now := time.Unix(1765000000, 0)
	tests := []struct {
		name, signature, timestamp string
		encrypted                  []string
		at                         time.Time
		wantErr                    string
	}{
		{name: "plain", signature: "13699273e02bcee8c8dcd6667ef79e4d6487f4a8", timestamp: "1765000000", at: now},
		{name: "upper-case hex", signature: "13699273E02BCEE8C8DCD6667EF79E4D6487F4A8", timestamp: "1765000000", at: now},
		{name: "safe mode", signature: "7370840018543060ad438223a2c11067bcb026b3", timestamp: "1765000000", encrypted: []string{"ENCRYPTEDTEXT"}, at: now},
		{name: "safe mode without the message", signature: "7370840018543060ad438223a2c11067bcb026b3", timestamp: "1765000000", at: now, wantErr: "does not match"},
		{name: "another token's", signature: "da39a3ee5e6b4b0d3255bfef95601890afd80709", timestamp: "1765000000", at: now, wantErr: "does not match"},
		{name: "empty", timestamp: "1765000000", at: now, wantErr: "does not match"},
		{name: "replayed after 6 minutes", signature: "13699273e02bcee8c8dcd6667ef79e4d6487f4a8", timestamp: "1765000000", at: now.Add(6 * time.Minute), wantErr: "from now"},
		{name: "from the future", signature: "13699273e02bcee8c8dcd6667ef79e4d6487f4a8", timestamp: "1765000000", at: now.Add(-6 * time.Minute), wantErr: "from now"},
		{name: "4 minutes old", signature: "13699273e02bcee8c8dcd6667ef79e4d6487f4a8", timestamp: "1765000000", at: now.Add(4 * time.Minute)},
		{name: "timestamp not a number", signature: "x", timestamp: "yesterday", at: now, wantErr: "not a Unix time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.signature, testToken, tt.timestamp, "4829351", tt.at, tt.encrypted...)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want ErrSignature with %q", err, tt.wantErr)
			}
		})
	}
}

func TestDecrypt(t *testing.T) {
	c, err := NewCipher(testKey, testAppID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Decrypt(testCipher)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != testPlain {
		t.Fatalf("decrypted %q", got)
	}

	raw, _ := base64.StdEncoding.DecodeString(testCipher)
	tampered := bytes.Clone(raw)
	tampered[len(tampered)-1] ^= 0x55 // the last block decrypts to garbage: its padding breaks
	other, err := NewCipher(testKey, "wxsomeoneelse")
	if err != nil {
		t.Fatal(err)
	}
	forged, err := other.Encrypt([]byte(testPlain))
	if err != nil {
		t.Fatal(err)
	}
	lying := sealRaw(t, c, append(append([]byte("0123456789abcdef"), 0, 0, 0x10, 0), []byte("short"+testAppID)...))
	tests := []struct {
		name, in, want string
	}{
		{"not base64", "%%%", "not base64"},
		{"empty", "", "not a multiple"},
		{"not whole blocks", base64.StdEncoding.EncodeToString(raw[:40]), "not a multiple"},
		{"broken padding", base64.StdEncoding.EncodeToString(tampered), "padding"},
		{"another account's", forged, "another AppID"},
		{"length prefix past the end", lying, "past the end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Decrypt(tt.in)
			if !errors.Is(err, ErrDecrypt) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want ErrDecrypt with %q", err, tt.want)
			}
		})
	}
}

// sealRaw encrypts plain (padded here) without Encrypt's framing, to
// make envelopes Encrypt never would.
func sealRaw(t *testing.T, c *Cipher, plain []byte) string {
	t.Helper()
	pad := blockSize - len(plain)%blockSize
	plain = append(plain, bytes.Repeat([]byte{byte(pad)}, pad)...)
	out := make([]byte, len(plain))
	newCBC(c).CryptBlocks(out, plain)
	return base64.StdEncoding.EncodeToString(out)
}

func TestNewCipher(t *testing.T) {
	tests := []struct{ name, key, appID, want string }{
		{"short key", "abc", testAppID, "43 characters"},
		{"key not base64", strings.Repeat("!", 43), testAppID, "not base64"},
		{"no AppID", testKey, "", "appID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewCipher(tt.key, tt.appID); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestEncryptRoundTrip(t *testing.T) {
	c, err := NewCipher(testKey, testAppID)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 11, 12, 13, 31, 32, 33, 2048} {
		msg := bytes.Repeat([]byte("微"), n)
		enc, err := c.Encrypt(msg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Decrypt(enc)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("%d bytes: got %q, %v", len(msg), got, err)
		}
	}
}

func TestParse(t *testing.T) {
	msg := func(inner string) string {
		return "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oAbC-123]]></FromUserName><CreateTime>1765000000</CreateTime>" + inner + "</xml>"
	}
	tests := []struct {
		name string
		body string
		want Message // the fields checked: MsgType, Event and the one field named in check
		key  string
		err  string
	}{
		{name: "text", body: msg("<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[打印机坏了 ]]>]]&gt;</Content><MsgId>1234567890123456</MsgId>"),
			want: Message{MsgType: TypeText, Content: "打印机坏了 ]]>"}, key: "msg:1234567890123456"},
		{name: "image", body: msg("<MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://mmbiz/x.jpg]]></PicUrl><MediaId><![CDATA[m1]]></MediaId><MsgId>2</MsgId>"),
			want: Message{MsgType: TypeImage, MediaID: "m1"}, key: "msg:2"},
		{name: "voice", body: msg("<MsgType><![CDATA[voice]]></MsgType><MediaId><![CDATA[v1]]></MediaId><Format><![CDATA[amr]]></Format><Recognition><![CDATA[你好]]></Recognition><MsgId>3</MsgId>"),
			want: Message{MsgType: TypeVoice, MediaID: "v1"}, key: "msg:3"},
		{name: "video", body: msg("<MsgType><![CDATA[video]]></MsgType><MediaId><![CDATA[vid]]></MediaId><ThumbMediaId><![CDATA[th]]></ThumbMediaId><MsgId>4</MsgId>"),
			want: Message{MsgType: TypeVideo, MediaID: "vid"}, key: "msg:4"},
		{name: "location", body: msg("<MsgType><![CDATA[location]]></MsgType><Location_X>31.23</Location_X><Location_Y>121.47</Location_Y><Scale>15</Scale><Label><![CDATA[上海市]]></Label><MsgId>5</MsgId>"),
			want: Message{MsgType: TypeLocation, Label: "上海市"}, key: "msg:5"},
		{name: "link", body: msg("<MsgType><![CDATA[link]]></MsgType><Title><![CDATA[t]]></Title><Description><![CDATA[d]]></Description><Url><![CDATA[https://example.com]]></Url><MsgId>6</MsgId>"),
			want: Message{MsgType: TypeLink, URL: "https://example.com"}, key: "msg:6"},
		{name: "subscribe", body: msg("<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event>"),
			want: Message{MsgType: TypeEvent, Event: EventSubscribe}, key: "event:oAbC-123:1765000000:subscribe"},
		{name: "subscribe by QR code", body: msg("<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[qrscene_42]]></EventKey><Ticket><![CDATA[TK]]></Ticket>"),
			want: Message{MsgType: TypeEvent, Event: EventSubscribe, EventKey: "qrscene_42"}, key: "event:oAbC-123:1765000000:subscribe"},
		{name: "unsubscribe", body: msg("<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[unsubscribe]]></Event>"),
			want: Message{MsgType: TypeEvent, Event: EventUnsubscribe}, key: "event:oAbC-123:1765000000:unsubscribe"},
		{name: "CLICK", body: msg("<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[CLICK]]></Event><EventKey><![CDATA[HUMAN]]></EventKey>"),
			want: Message{MsgType: TypeEvent, Event: EventClick, EventKey: "HUMAN"}, key: "event:oAbC-123:1765000000:CLICK"},
		{name: "VIEW", body: msg("<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[VIEW]]></Event><EventKey><![CDATA[https://help.example]]></EventKey>"),
			want: Message{MsgType: TypeEvent, Event: EventView, EventKey: "https://help.example"}, key: "event:oAbC-123:1765000000:VIEW"},
		{name: "SCAN", body: msg("<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[SCAN]]></Event><EventKey><![CDATA[42]]></EventKey><Ticket><![CDATA[TK]]></Ticket>"),
			want: Message{MsgType: TypeEvent, Event: EventScan, EventKey: "42"}, key: "event:oAbC-123:1765000000:SCAN"},
		{name: "safe-mode envelope", body: "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Encrypt><![CDATA[abc=]]></Encrypt></xml>",
			want: Message{Encrypt: "abc="}},
		{name: "with an XML declaration", body: `<?xml version="1.0" encoding="UTF-8"?>` + msg("<MsgType>text</MsgType><Content>x</Content><MsgId>7</MsgId>"),
			want: Message{MsgType: TypeText, Content: "x"}, key: "msg:7"},

		{name: "a DOCTYPE with an entity", body: `<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>` + msg("<MsgType>text</MsgType><Content>&x;</Content>"), err: "DOCTYPE"},
		{name: "an undeclared entity", body: msg("<MsgType>text</MsgType><Content>&x;</Content>"), err: "malformed"},
		{name: "a processing instruction", body: `<?xml-stylesheet href="x"?>` + msg("<MsgType>text</MsgType>"), err: "processing instruction"},
		{name: "1 MB", body: msg("<MsgType>text</MsgType><Content>" + strings.Repeat("a", 1<<20) + "</Content>"), err: "larger than"},
		{name: "nested deep", body: strings.Repeat("<a>", 50) + strings.Repeat("</a>", 50), err: "deeper"},
		{name: "not XML", body: "signature=abc&echostr=1", err: "malformed"},
		{name: "unclosed", body: "<xml><FromUserName>o", err: "malformed"},
		{name: "no sender", body: "<xml><MsgType>text</MsgType></xml>", err: "FromUserName"},
		{name: "no type", body: msg(""), err: "MsgType"},
		{name: "an event without Event", body: msg("<MsgType>event</MsgType>"), err: "Event"},
		{name: "a sender with spaces", body: "<xml><FromUserName>o A</FromUserName><MsgType>text</MsgType></xml>", err: "openid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse(strings.NewReader(tt.body))
			if tt.err != "" {
				if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, want ErrMalformed with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.MsgType != tt.want.MsgType || m.Event != tt.want.Event || m.Encrypt != tt.want.Encrypt {
				t.Errorf("type %q event %q encrypt %q, want %q %q %q", m.MsgType, m.Event, m.Encrypt, tt.want.MsgType, tt.want.Event, tt.want.Encrypt)
			}
			for name, pair := range map[string][2]string{
				"Content": {m.Content, tt.want.Content}, "MediaId": {m.MediaID, tt.want.MediaID}, "Label": {m.Label, tt.want.Label},
				"Url": {m.URL, tt.want.URL}, "EventKey": {m.EventKey, tt.want.EventKey},
			} {
				if pair[1] != "" && pair[0] != pair[1] {
					t.Errorf("%s = %q, want %q", name, pair[0], pair[1])
				}
			}
			if tt.key != "" && m.DedupKey() != tt.key {
				t.Errorf("dedup key %q, want %q", m.DedupKey(), tt.key)
			}
		})
	}
}

// TestSafeModeMessage takes a message through the whole safe-mode path:
// the envelope parses, its signature verifies, it decrypts to a message
// that parses.
func TestSafeModeMessage(t *testing.T) {
	c, err := NewCipher(testKey, testAppID)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := c.Encrypt([]byte(testPlain))
	if err != nil {
		t.Fatal(err)
	}
	envelope := EncryptedReply(enc, testToken, "1765000000", "nonce-1")
	outer, err := ParseBytes(envelope)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(Sign(testToken, "1765000000", "nonce-1", outer.Encrypt), testToken, "1765000000", "nonce-1", time.Unix(1765000000, 0), outer.Encrypt); err != nil {
		t.Fatal(err)
	}
	plain, err := c.Decrypt(outer.Encrypt)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseBytes(plain)
	if err != nil {
		t.Fatal(err)
	}
	if m.FromUserName != "oUser" || m.Content != "你好" || m.DedupKey() != "msg:123" {
		t.Errorf("got %+v", m)
	}
}

func TestReply(t *testing.T) {
	out := Reply("oUser", "gh_1", "已收到，工单 #1042 ]]> <script>", time.Unix(1765000000, 0))
	m, err := ParseBytes(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.ToUserName != "oUser" || m.FromUserName != "gh_1" || m.Content != "已收到，工单 #1042 ]]> <script>" || m.CreateTime != 1765000000 {
		t.Errorf("reply read back as %+v", m)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(testPlain))
	f.Add([]byte("<xml><Encrypt>abc</Encrypt></xml>"))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "b">]><xml/>`))
	f.Add([]byte("<xml><FromUserName>o</FromUserName><MsgType>event</MsgType><Event>subscribe</Event></xml>"))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := ParseBytes(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("an error that is not ErrMalformed: %v", err)
			}
			return
		}
		if m.Encrypt == "" && (m.FromUserName == "" || m.MsgType == "") {
			t.Fatalf("accepted a message without sender or type: %+v", m)
		}
		if bytes.Contains(body, []byte("<!")) && !bytes.Contains(body, []byte("<![CDATA[")) && !bytes.Contains(body, []byte("<!--")) {
			t.Fatalf("accepted a directive: %q", body)
		}
	})
}

func FuzzDecrypt(f *testing.F) {
	c, err := NewCipher(testKey, testAppID)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(testCipher, []byte("hello"))
	f.Add("", []byte{})
	f.Add("AAAA", []byte("微信"))
	f.Fuzz(func(t *testing.T, encrypted string, msg []byte) {
		if _, err := c.Decrypt(encrypted); err != nil && !errors.Is(err, ErrDecrypt) {
			t.Fatalf("an error that is not ErrDecrypt: %v", err)
		}
		enc, err := c.Encrypt(msg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Decrypt(enc)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("round trip of %q: %q, %v", msg, got, err)
		}
	})
}

func newCBC(c *Cipher) cipher.BlockMode { return cipher.NewCBCEncrypter(c.block, c.iv) }
