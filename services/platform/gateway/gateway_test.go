package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestLimitBody(t *testing.T) {
	o := Options{MaxRequestBytes: 1024}
	var seen int
	h := o.limitBody(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen = len(b)
	}))
	tests := []struct {
		name    string
		body    string
		chunked bool // no Content-Length: the limit must hold while reading
		code    int
	}{
		{"small", strings.Repeat("a", 100), false, 200},
		{"at the limit", strings.Repeat("a", 1024), false, 200},
		{"over, declared", strings.Repeat("a", 1025), false, 413},
		{"over, chunked", strings.Repeat("a", 5000), true, 413},
		{"small, chunked", "技术支持", true, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen = -1
			var body io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				body = io.MultiReader(body) // hides the length from NewRequest
			}
			r := httptest.NewRequest(http.MethodPost, "/v1/tickets", body)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.code {
				t.Fatalf("status %d, want %d", w.Code, tt.code)
			}
			if tt.code == 413 {
				var st struct {
					Code    int
					Message string
				}
				if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil || st.Code != 3 || !strings.Contains(st.Message, "1024") {
					t.Errorf("body %s is not a google.rpc.Status naming the limit", w.Body.Bytes())
				}
				if seen != -1 {
					t.Errorf("an oversized body reached the API")
				}
			} else if seen != len(tt.body) {
				t.Errorf("handler read %d bytes, want %d", seen, len(tt.body))
			}
		})
	}
}

func TestReadyz(t *testing.T) {
	down := errors.New("ticket store: connection refused")
	tests := []struct {
		name   string
		checks []Check
		code   int
		body   string
	}{
		{"no checks", nil, 200, "ok"},
		{"all pass", []Check{{"store", func(context.Context) error { return nil }}}, 200, "ok"},
		{"one fails", []Check{{"store", func(context.Context) error { return nil }}, {"ticket", func(context.Context) error { return down }}}, 503, down.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := NewHandler(t.Context(), Options{Ready: tt.checks})
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			if w.Code != tt.code || !strings.Contains(w.Body.String(), tt.body) {
				t.Errorf("readyz = %d %q, want %d containing %q", w.Code, w.Body.String(), tt.code, tt.body)
			}
		})
	}
}

func TestDefaultTenant(t *testing.T) {
	var got string
	h := Options{DefaultTenant: "default"}.defaultTenant(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("X-Kubedesk-Tenant")
	}))
	for sent, want := range map[string]string{"": "default", "acme": "acme"} {
		r := httptest.NewRequest(http.MethodGet, "/v1/tickets", nil)
		if sent != "" {
			r.Header.Set("X-Kubedesk-Tenant", sent)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got != want {
			t.Errorf("sent %q: upstream saw tenant %q, want %q", sent, got, want)
		}
	}
}
