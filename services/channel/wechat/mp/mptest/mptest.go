// Package mptest is a local stand-in for WeChat's API that speaks its
// wire format (JSON errcode/errmsg, the token endpoint, customer-service
// messages, media downloads) and records what it was sent. Tests point a
// tenant's apiBaseURL at it.
package mptest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
)

// Sent is one customer-service message the server accepted.
type Sent struct {
	ToUser  string
	MsgType string
	Content string
}

// Server is the stand-in.
type Server struct {
	AppID, AppSecret string
	// ExpiresIn is the lifetime, in seconds, of the tokens it issues.
	ExpiresIn int

	srv *httptest.Server

	mu       sync.Mutex
	token    string // the one valid token; "" before the first fetch
	fetches  int
	sent     []Sent
	outside  map[string]bool // openids outside the 48-hour window
	media    map[string]media
	failSend int // answer the next n sends with system busy (-1)
}

type media struct {
	contentType string
	data        []byte
}

// Start runs a Server for the account appID/appSecret until the test
// ends.
func Start(tb testing.TB, appID, appSecret string) *Server {
	tb.Helper()
	s := &Server{AppID: appID, AppSecret: appSecret, ExpiresIn: 7200, outside: map[string]bool{}, media: map[string]media{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cgi-bin/token", s.handleToken)
	mux.HandleFunc("POST /cgi-bin/message/custom/send", s.handleSend)
	mux.HandleFunc("GET /cgi-bin/media/get", s.handleMedia)
	s.srv = httptest.NewServer(mux)
	tb.Cleanup(s.srv.Close)
	return s
}

// URL is the base URL to configure as apiBaseURL.
func (s *Server) URL() string { return s.srv.URL }

// Sent returns the messages accepted so far.
func (s *Server) Sent() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.sent...)
}

// TokenFetches is how many tokens were issued.
func (s *Server) TokenFetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches
}

// ExpireToken makes the current token expired: the next call with it is
// answered 42001.
func (s *Server) ExpireToken() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = "expired:" + s.token
}

// OutsideWindow makes sends to openid fail with 45015, as for a user who
// has not written within 48 hours.
func (s *Server) OutsideWindow(openid string, outside bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outside[openid] = outside
}

// AddMedia stores a file media/get serves.
func (s *Server) AddMedia(id, contentType string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.media[id] = media{contentType, data}
}

// FailSends answers the next n sends with errcode -1 (system busy).
func (s *Server) FailSends(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failSend = n
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, map[string]any{"errcode": code, "errmsg": msg})
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case q.Get("grant_type") != "client_credential":
		apiError(w, 40002, "invalid grant_type")
	case q.Get("appid") != s.AppID:
		apiError(w, 40013, "invalid appid")
	case q.Get("secret") != s.AppSecret:
		apiError(w, 40125, "invalid appsecret")
	default:
		s.mu.Lock()
		s.fetches++
		s.token = "token-" + strconv.Itoa(s.fetches)
		tok, exp := s.token, s.ExpiresIn
		s.mu.Unlock()
		writeJSON(w, map[string]any{"access_token": tok, "expires_in": exp})
	}
}

// checkToken answers a call whose token is not the valid one; it reports
// whether the call may go on.
func (s *Server) checkToken(w http.ResponseWriter, r *http.Request) bool {
	tok := r.URL.Query().Get("access_token")
	s.mu.Lock()
	cur := s.token
	s.mu.Unlock()
	switch {
	case tok != "" && tok == cur:
		return true
	case tok != "" && "expired:"+tok == cur:
		apiError(w, 42001, "access_token expired")
	default:
		apiError(w, 40001, "invalid credential, access_token is invalid or not latest")
	}
	return false
}

func (s *Server) handleSend(w http.ResponseWriter, r *http.Request) {
	if !s.checkToken(w, r) {
		return
	}
	var in struct {
		ToUser  string `json:"touser"`
		MsgType string `json:"msgtype"`
		Text    struct {
			Content string `json:"content"`
		} `json:"text"`
	}
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := json.Unmarshal(raw, &in); err != nil || in.ToUser == "" || in.MsgType == "" {
		apiError(w, 44002, fmt.Sprintf("empty post data or bad json: %v", err))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failSend > 0 {
		s.failSend--
		apiError(w, -1, "system error")
		return
	}
	if s.outside[in.ToUser] {
		apiError(w, 45015, "response out of time limit or subscription is canceled")
		return
	}
	s.sent = append(s.sent, Sent{ToUser: in.ToUser, MsgType: in.MsgType, Content: in.Text.Content})
	apiError(w, 0, "ok")
}

func (s *Server) handleMedia(w http.ResponseWriter, r *http.Request) {
	if !s.checkToken(w, r) {
		return
	}
	s.mu.Lock()
	m, ok := s.media[r.URL.Query().Get("media_id")]
	s.mu.Unlock()
	if !ok {
		apiError(w, 40007, "invalid media_id")
		return
	}
	w.Header().Set("Content-Type", m.contentType)
	_, _ = w.Write(m.data)
}
