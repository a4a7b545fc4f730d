package gateway

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/kubedesk/kubedesk/services/platform/auth"
)

// limitSignIn refuses sign-ins (POST /v1/sessions) from a client address
// over SignInRate with 429, before any password is checked: it slows
// password guessing across accounts from one place, which the identity
// module's limits per account do not see.
func (o Options) limitSignIn(next http.Handler) http.Handler {
	l := auth.NewLimiter(o.SignInRate)
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != signInPath {
			next.ServeHTTP(w, r)
			return
		}
		ip := o.clientIP(r)
		d := l.Allow(auth.ClientKey(ip), now())
		if d.Allowed {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Retry-After", seconds(d.RetryAfter))
		h.Set("RateLimit-Limit", strconv.Itoa(d.Limit))
		h.Set("RateLimit-Remaining", strconv.Itoa(d.Remaining))
		h.Set("RateLimit-Reset", seconds(d.Reset))
		writeStatus(w, http.StatusTooManyRequests, codes.ResourceExhausted, fmt.Sprintf(
			"POST /v1/sessions: too many sign-ins from %s; the limit (gateway.signInRate) is %d at once, then %g per second; retry after %s seconds",
			ip, d.Limit, o.SignInRate.PerSecond, seconds(d.RetryAfter)))
	})
}

// seconds is d in whole seconds, rounded up: a client that waits that long
// is not refused again for waiting too little.
func seconds(d time.Duration) string {
	return strconv.FormatInt(int64(math.Ceil(d.Seconds())), 10)
}
