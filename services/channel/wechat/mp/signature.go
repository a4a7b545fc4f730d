package mp

import (
	"crypto/sha1" //nolint:gosec // WeChat's signature scheme is SHA-1; it is not ours to choose
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxSkew is how far a callback's timestamp may be from now: WeChat
// retries within 15 s, so an older one is a replay.
const MaxSkew = 5 * time.Minute

// Sign is WeChat's signature of a callback: the hex SHA-1 of its parts
// (the token, the timestamp, the nonce, and in safe mode the encrypted
// message) sorted and concatenated.
func Sign(parts ...string) string {
	sorted := slices.Clone(parts)
	slices.Sort(sorted)
	sum := sha1.Sum([]byte(strings.Join(sorted, ""))) //nolint:gosec // see the import
	return hex.EncodeToString(sum[:])
}

// ErrSignature is a callback whose signature does not match, or whose
// timestamp is too old or malformed.
var ErrSignature = errors.New("wechat: bad signature")

// Verify checks a callback's signature over token, timestamp and nonce
// (and the encrypted message, when given), and that the timestamp is
// within MaxSkew of now. The error says which check failed, for the log;
// a caller answers every failure the same way.
func Verify(signature, token, timestamp, nonce string, now time.Time, encrypted ...string) error {
	if len(encrypted) > 1 {
		return errors.New("wechat: Verify takes at most one encrypted message")
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || ts <= 0 {
		return fmt.Errorf("%w: timestamp %q is not a Unix time", ErrSignature, truncate(timestamp, 20))
	}
	if skew := now.Sub(time.Unix(ts, 0)); skew > MaxSkew || skew < -MaxSkew {
		return fmt.Errorf("%w: timestamp %d is %s from now; accepted: within %s", ErrSignature, ts, skew.Round(time.Second), MaxSkew)
	}
	want := Sign(append([]string{token, timestamp, nonce}, encrypted...)...)
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(signature)), []byte(want)) != 1 {
		return fmt.Errorf("%w: it does not match the token", ErrSignature)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
