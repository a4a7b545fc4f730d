package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium is the browser the widget's test drives (Debian's package;
// .ci/run installs it).
const chromium = "chromium"

// TestChatWidgetInBrowser loads a page of another origin that embeds the
// widget under a strict Content-Security-Policy (no inline script or
// style), chats with an agent over the WebSocket and over the events and
// POST fallback, and checks that markup in messages is shown as text.
func TestChatWidgetInBrowser(t *testing.T) {
	path, err := exec.LookPath(chromium)
	if err != nil {
		t.Fatalf("the widget's browser test needs Debian's chromium (apt-get install chromium): %v", err)
	}
	srv := startServe(t)
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gw := srv.base
		ws := strings.Replace(gw, "http", "ws", 1)
		w.Header().Set("Content-Security-Policy", fmt.Sprintf("default-src 'none'; script-src %s; connect-src %s %s; style-src 'none'; img-src 'none'", gw, gw, ws))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		transport := ""
		if r.URL.Query().Get("transport") == "sse" {
			transport = ` data-transport="sse"`
		}
		fmt.Fprintf(w, `<!doctype html><html lang="%s"><head><title>小店</title></head><body><h1>小店</h1>`+
			`<script src="%s/widget.js" data-tenant="default"%s async></script></body></html>`, r.URL.Query().Get("lang"), gw, transport)
	}))
	defer page.Close()

	alloc, cancel := chromedp.NewExecAllocator(t.Context(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.Flag("headless", true), chromedp.Flag("disable-gpu", true))...)
	defer cancel()

	for _, tt := range []struct {
		name, query, send, placeholder string
	}{
		{"websocket, Chinese", "?lang=zh-CN", "发送", "输入消息，回车发送"},
		{"events and POST, English", "?lang=en&transport=sse", "Send", "Type a message, Enter to send"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := chromedp.NewContext(alloc)
			defer cancel()
			ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
			defer cancel()
			const root = `document.querySelector('kubedesk-chat').shadowRoot`
			if err := chromedp.Do(ctx,
				chromedp.Navigate(page.URL+"/"+tt.query),
				chromedp.WaitReady(chromedp.JSPath(root+`.querySelector('.launcher')`)),
				chromedp.Click(chromedp.JSPath(root+`.querySelector('.launcher')`)),
				chromedp.WaitVisible(chromedp.JSPath(root+`.querySelector('textarea')`)),
			); err != nil {
				t.Fatal(err)
			}
			send := eval[string](ctx, t, root+`.querySelector('.compose button').textContent`)
			placeholder := eval[string](ctx, t, root+`.querySelector('textarea').placeholder`)
			// The style sheet applies although the page allows no style
			// (a constructed sheet is no inline style).
			if bg := eval[string](ctx, t, `getComputedStyle(`+root+`.querySelector('header')).backgroundColor`); bg != "rgb(31, 111, 235)" {
				t.Errorf("the widget's header has background %q: its style sheet did not apply", bg)
			}
			if send != tt.send || placeholder != tt.placeholder {
				t.Errorf("the widget in %s: button %q, placeholder %q", tt.query, send, placeholder)
			}
			visitorText := "打印机坏了 <img src=x onerror=\"document.title='owned'\"> " + tt.name
			if err := chromedp.Do(ctx,
				chromedp.SendKeys(chromedp.JSPath(root+`.querySelector('textarea')`), visitorText+"\r"),
			); err != nil {
				t.Fatal(err)
			}
			var chat string
			for deadline := time.Now().Add(15 * time.Second); chat == ""; time.Sleep(50 * time.Millisecond) {
				for _, tk := range srv.listAll(t, "filter=channel%3Dchat") {
					if tk["description"] == visitorText {
						chat = tk["id"].(string)
					}
				}
				if time.Now().After(deadline) {
					t.Fatal("the widget's message made no ticket within 15s")
				}
			}
			agentText := "请重启 <img src=x onerror=\"document.title='owned'\"><script>document.title='owned'</script>"
			srv.mustCall(t, http.StatusOK, "POST", "/v1/tickets/"+chat+"/comments", map[string]any{"body": agentText})
			wantLog := func(ctx context.Context, texts ...string) {
				t.Helper()
				for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
					log := eval[string](ctx, t, root+`.querySelector('.log').textContent`)
					all := true
					for _, s := range texts {
						all = all && strings.Contains(log, s)
					}
					if all {
						return
					}
					if time.Now().After(deadline) {
						t.Fatalf("the chat shows %q, want %q", log, texts)
					}
				}
			}
			wantLog(ctx, visitorText, agentText)
			images := eval[int](ctx, t, root+`.querySelectorAll('img, script').length + document.querySelectorAll('img').length`)
			title := eval[string](ctx, t, `document.title`)
			if images != 0 || title != "小店" {
				t.Errorf("markup in messages became elements (%d img/script) or ran (title %q)", images, title)
			}
			if bubbles := eval[int](ctx, t, root+`.querySelectorAll('.msg').length`); bubbles != 2 {
				t.Errorf("%d messages shown, want 2 (the visitor's own once)", bubbles)
			}
			// A reload: the same visitor, its chat shown again.
			if err := chromedp.Do(ctx,
				chromedp.Reload(),
				chromedp.WaitReady(chromedp.JSPath(root+`.querySelector('.launcher')`)),
				chromedp.Click(chromedp.JSPath(root+`.querySelector('.launcher')`)),
			); err != nil {
				t.Fatal(err)
			}
			wantLog(ctx, visitorText, agentText)
			// The server counts the messages and the stream open. (Only
			// here: the metrics go to the meter provider of the process,
			// which parallel tests' servers would share.)
			metrics := string(srv.mustCall(t, http.StatusOK, "GET", "/metrics", nil).body)
			for _, want := range []*regexp.Regexp{
				regexp.MustCompile(`(?m)^kubedesk_chat_messages_total\{author="agent".*\} [1-9]`),
				regexp.MustCompile(`(?m)^kubedesk_chat_messages_total\{author="visitor".*\} [1-9]`),
				regexp.MustCompile(`(?m)^kubedesk_chat_streams\{.*side="visitor".*\} [1-9]`),
			} {
				if !want.MatchString(metrics) {
					t.Errorf("/metrics has nothing matching %s", want)
				}
			}
		})
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](ctx context.Context, t *testing.T, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}
