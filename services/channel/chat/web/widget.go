package web

import (
	"crypto/sha256"
	_ "embed" // the widget script
	"encoding/hex"
	"net/http"
	"strconv"
)

// Widget is the chat widget's script: plain JavaScript (no build step), a
// page embeds it with
//
//	<script src="https://HOST/widget.js" data-tenant="acme" async></script>
//
// It needs no inline script or style on the page: it draws itself in a
// shadow root with a constructed style sheet, and sets every text with
// textContent, so nothing a visitor or an agent writes is ever HTML.
//
//go:embed widget.js
var Widget []byte

// widgetETag names this build's widget.
var widgetETag = func() string {
	sum := sha256.Sum256(Widget)
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}()

// serveWidget serves the script to pages of any origin; browsers keep it
// five minutes, then revalidate.
func serveWidget(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("ETag", widgetETag)
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	if r.Header.Get("If-None-Match") == widgetETag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(Widget)))
	_, _ = w.Write(Widget)
}
