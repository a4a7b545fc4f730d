package web

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
)

// TestWidget: the script stays under 30 KB, never writes HTML (every
// text goes through textContent), and is served as JavaScript that any
// page may load and revalidate.
func TestWidget(t *testing.T) {
	if n := len(Widget); n >= 30<<10 {
		t.Errorf("widget.js has %d bytes; it must stay under 30 KB", n)
	}
	if m := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setAttribute\(['"]on`).Find(Widget); m != nil {
		t.Errorf("widget.js uses %s: text must be set with textContent, and no code made from strings", m)
	}
	h := Handler(nil, Options{MaxMessageBytes: 4096})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/widget.js", nil))
	if rec.Code != http.StatusOK || rec.Body.Len() != len(Widget) {
		t.Fatalf("GET /widget.js = %d with %d bytes", rec.Code, rec.Body.Len())
	}
	for k, want := range map[string]string{
		"Content-Type": "text/javascript; charset=utf-8", "Access-Control-Allow-Origin": "*",
		"Cross-Origin-Resource-Policy": "cross-origin", "Cache-Control": "public, max-age=300",
	} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	req := httptest.NewRequest(http.MethodGet, "/widget.js", nil)
	req.Header.Set("If-None-Match", rec.Header().Get("ETag"))
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Errorf("revalidation: %d, want 304", rec.Code)
	}
}
