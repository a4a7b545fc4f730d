package mp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// DefaultAPIBaseURL is WeChat's API.
const DefaultAPIBaseURL = "https://api.weixin.qq.com"

// WeChat's error codes the client acts on.
const (
	codeInvalidCredential = 40001 // the access token is invalid (another caller refreshed it)
	codeTokenExpired      = 42001
	codeOutsideWindow     = 45015 // customer-service messages only within 48 h of the user's last message
	codeUnsubscribed      = 43004
)

// maxAPIResponse bounds a JSON answer; maxMedia a media download
// (WeChat's own limit is 10 MB for images and videos).
const (
	maxAPIResponse = 1 << 20
	maxMedia       = 10 << 20
)

// refreshBefore is how long before its expiry a token is replaced.
const refreshBefore = 5 * time.Minute

// APIError is an answer of WeChat's API with a non-zero errcode.
type APIError struct {
	Code    int    `json:"errcode"`
	Message string `json:"errmsg"`
}

func (e *APIError) Error() string { return fmt.Sprintf("wechat: errcode %d: %s", e.Code, e.Message) }

// ErrOutsideWindow is a customer-service message refused because the
// user has not written within the last 48 hours (errcode 45015), or has
// unsubscribed (43004): the reply must wait until the user writes again.
var ErrOutsideWindow = errors.New("wechat: the user has not written within 48 hours; replies wait for their next message")

// Client calls WeChat's API for one account: it keeps the access token,
// fetched by one caller at a time and replaced before it expires.
type Client struct {
	BaseURL   string // DefaultAPIBaseURL when empty
	AppID     string
	AppSecret string
	HTTP      *http.Client // http.DefaultClient when nil; set a timeout
	Now       func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
	fetch   singleflight.Group
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) endpoint(path string, q url.Values) string {
	base := strings.TrimRight(c.BaseURL, "/")
	if base == "" {
		base = DefaultAPIBaseURL
	}
	return base + path + "?" + q.Encode()
}

// Token returns a valid access token, fetching one when there is none,
// it expires within refreshBefore, or stale is the token a call was
// refused with. Concurrent callers share one fetch.
func (c *Client) Token(ctx context.Context, stale string) (string, error) {
	c.mu.Lock()
	tok, exp := c.token, c.expires
	c.mu.Unlock()
	if tok != "" && tok != stale && c.now().Add(refreshBefore).Before(exp) {
		return tok, nil
	}
	v, err, _ := c.fetch.Do("token", func() (any, error) {
		// A caller that waited on the lock may find the token replaced.
		c.mu.Lock()
		tok, exp := c.token, c.expires
		c.mu.Unlock()
		if tok != "" && tok != stale && c.now().Add(refreshBefore).Before(exp) {
			return tok, nil
		}
		return c.fetchToken(context.WithoutCancel(ctx))
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

func (c *Client) fetchToken(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	q := url.Values{"grant_type": {"client_credential"}, "appid": {c.AppID}, "secret": {c.AppSecret}}
	var out struct {
		APIError
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := c.do(ctx, http.MethodGet, c.endpoint("/cgi-bin/token", q), nil, &out); err != nil {
		return "", fmt.Errorf("wechat: fetching the access token: %w", err)
	}
	if out.Code != 0 {
		return "", fmt.Errorf("wechat: fetching the access token: %w", &out.APIError)
	}
	if out.AccessToken == "" || out.ExpiresIn <= 0 {
		return "", errors.New("wechat: fetching the access token: the answer holds no token")
	}
	c.mu.Lock()
	c.token, c.expires = out.AccessToken, c.now().Add(time.Duration(out.ExpiresIn)*time.Second)
	c.mu.Unlock()
	return out.AccessToken, nil
}

// SendText sends a customer-service text message to openid
// (message/custom/send). A token WeChat calls invalid or expired is
// replaced and the send tried once more.
func (c *Client) SendText(ctx context.Context, openid, content string) error {
	body, err := json.Marshal(map[string]any{"touser": openid, "msgtype": "text", "text": map[string]string{"content": content}})
	if err != nil {
		return err
	}
	return c.withToken(ctx, func(token string) error {
		var out APIError
		if err := c.do(ctx, http.MethodPost, c.endpoint("/cgi-bin/message/custom/send", url.Values{"access_token": {token}}), body, &out); err != nil {
			return err
		}
		if out.Code != 0 {
			return &out
		}
		return nil
	})
}

// Media downloads a media file (an image or voice a user sent) by its
// MediaId, with its content type.
func (c *Client) Media(ctx context.Context, mediaID string) (data []byte, contentType string, err error) {
	err = c.withToken(ctx, func(token string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint("/cgi-bin/media/get", url.Values{"access_token": {token}, "media_id": {mediaID}}), nil)
		if err != nil {
			return err
		}
		resp, err := c.httpClient().Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("wechat: media/get answered %s", resp.Status)
		}
		raw, err := io.ReadAll(io.LimitReader(resp.Body, maxMedia+1))
		if err != nil {
			return err
		}
		if len(raw) > maxMedia {
			return fmt.Errorf("wechat: media %s is larger than %d bytes", mediaID, maxMedia)
		}
		ct := resp.Header.Get("Content-Type")
		if mt, _, _ := mime.ParseMediaType(ct); mt == "application/json" || mt == "text/plain" {
			// An error comes back as JSON in place of the file.
			var e APIError
			if json.Unmarshal(raw, &e) == nil && e.Code != 0 {
				return &e
			}
		}
		data, contentType = raw, ct
		return nil
	})
	return data, contentType, err
}

// withToken runs call with the access token, and once more with a fresh
// one when WeChat refuses the token.
func (c *Client) withToken(ctx context.Context, call func(token string) error) error {
	token, err := c.Token(ctx, "")
	if err != nil {
		return err
	}
	err = call(token)
	var apiErr *APIError
	if errors.As(err, &apiErr) && (apiErr.Code == codeInvalidCredential || apiErr.Code == codeTokenExpired) {
		if token, err = c.Token(ctx, token); err != nil {
			return err
		}
		err = call(token)
	}
	if errors.As(err, &apiErr) && (apiErr.Code == codeOutsideWindow || apiErr.Code == codeUnsubscribed) {
		return fmt.Errorf("%w (%w)", ErrOutsideWindow, apiErr)
	}
	return err
}

// do sends a request and decodes its JSON answer into out.
func (c *Client) do(ctx context.Context, method, u string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return redact(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("wechat: %s answered %s", req.URL.Path, resp.Status)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIResponse+1))
	if err != nil {
		return err
	}
	if len(raw) > maxAPIResponse {
		return fmt.Errorf("wechat: %s answered more than %d bytes", req.URL.Path, maxAPIResponse)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("wechat: %s answered what is not JSON: %w", req.URL.Path, err)
	}
	return nil
}

// redact drops the URL (its query holds the secret or the token) from a
// transport error.
func redact(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return fmt.Errorf("wechat: %s %s: %w", ue.Op, strings.SplitN(ue.URL, "?", 2)[0], ue.Err)
	}
	return err
}
