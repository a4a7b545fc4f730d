package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubedesk/kubedesk/services/channel/wechat/mp"
	"github.com/kubedesk/kubedesk/services/channel/wechat/mp/mptest"
)

const (
	// weChatUsers is how many openids BenchmarkWeChatIn's messages come
	// from, weChatSenders how many callbacks WeChat has in flight.
	weChatUsers   = 200
	weChatSenders = 16
)

// BenchmarkWeChatIn posts b.N signed, safe-mode (AES) text messages from
// 200 openids to the all-in-one binary's callback URL, each twice (the
// second as WeChat's retry, racing the first), on SQLite and PostgreSQL.
// It reports callbacks/s and their p50/p99 (the answer WeChat waits 5 s
// for), then waits until every message is a ticket (a user's first) or a
// comment (the rest) and fails unless each landed exactly once.
//
//	go test -run '^$' -bench WeChatIn -benchtime 2000x ./services/cmd/kubedesk
func BenchmarkWeChatIn(b *testing.B) {
	bin := kubedeskBinary(b)
	cipher, err := mp.NewCipher(wxAESKey, wxAppID)
	if err != nil {
		b.Fatal(err)
	}
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			api := mptest.Start(b, wxAppID, wxSecret)
			args := []string{writeBenchConfig(b, b.TempDir(), benchLimits+"---\n"+weChatTenants(api.URL()))}
			if engine == "postgres" {
				args = append(args, "--database-url="+pg.NewDatabase(b))
			}
			p := startBinary(b, bin, b.TempDir(), args...)
			defer p.stop(b)
			srv := p.instance()

			// Sealed before the clock starts: the encryption is WeChat's
			// work, not the server's.
			type call struct {
				query url.Values
				body  []byte
			}
			calls := make([]call, b.N)
			u := &weChatUser{tenant: "acme", cipher: cipher}
			now := strconv.FormatInt(time.Now().Unix(), 10)
			for i := range calls {
				msg := u.message(fmt.Sprintf("oBench%03d", i%weChatUsers), fmt.Sprintf("第 %d 条消息：打印机又卡纸了", i))
				enc, err := cipher.Encrypt([]byte(msg))
				if err != nil {
					b.Fatal(err)
				}
				nonce := strconv.Itoa(i)
				calls[i] = call{
					query: url.Values{"timestamp": {now}, "nonce": {nonce}, "signature": {mp.Sign(wxToken, now, nonce)},
						"encrypt_type": {"aes"}, "msg_signature": {mp.Sign(wxToken, now, nonce, enc)}},
					body: []byte("<xml><ToUserName><![CDATA[gh_acme]]></ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>"),
				}
			}
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: weChatSenders}}
			var next atomic.Int64
			var lat latencies
			b.ResetTimer()
			start := time.Now()
			errs := make(chan error, weChatSenders)
			for range weChatSenders {
				go func() {
					for {
						// Op 2k and 2k+1 are message k and its retry.
						i := next.Add(1) - 1
						if i >= int64(2*b.N) {
							errs <- nil
							return
						}
						c := calls[i/2]
						t0 := time.Now()
						resp, err := client.Post(srv.base+"/channels/wechat/acme?"+c.query.Encode(), "text/xml", bytes.NewReader(c.body))
						if err != nil {
							errs <- err
							return
						}
						body, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK || string(body) != "success" {
							errs <- fmt.Errorf("callback %d: %d %q", i, resp.StatusCode, body)
							return
						}
						lat.add(time.Since(t0))
					}
				}()
			}
			for range weChatSenders {
				if err := <-errs; err != nil {
					b.Fatal(err)
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			lat.report(b, elapsed, "callbacks/s")

			// Every message lands once: a ticket per user, the rest
			// comments.
			deadline := time.Now().Add(5 * time.Minute)
			for {
				landed, tickets := weChatLanded(b, srv)
				if landed == b.N {
					if tickets != min(b.N, weChatUsers) {
						b.Fatalf("%d tickets, want one per user (%d)", tickets, min(b.N, weChatUsers))
					}
					b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "landed/s")
					break
				}
				if landed > b.N {
					b.Fatalf("%d messages landed, want %d: a retry made a second comment", landed, b.N)
				}
				if time.Now().After(deadline) {
					b.Fatalf("%d of %d messages landed after 5 minutes", landed, b.N)
				}
				time.Sleep(200 * time.Millisecond)
			}
		})
	}
}

// weChatLanded counts acme's WeChat tickets and, with their comments, the
// messages that landed.
func weChatLanded(b *testing.B, srv *instance) (landed, tickets int) {
	list := srv.listAll(b, "filter="+url.QueryEscape("channel = wechat"), "X-Kubedesk-Tenant", "acme")
	for _, tk := range list {
		id := tk["id"].(string)
		token := ""
		for {
			r := srv.mustCall(b, http.StatusOK, "GET", "/v1/tickets/"+id+"/comments?pageSize=100&pageToken="+url.QueryEscape(token), nil, "X-Kubedesk-Tenant", "acme")
			cs, _ := r.json["comments"].([]any)
			landed += len(cs)
			if token = r.str("nextPageToken"); token == "" {
				break
			}
		}
	}
	return landed + len(list), len(list)
}
