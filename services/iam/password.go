package iam

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/kubedesk/kubedesk/services/platform/auth"
)

// Password hashes are argon2id in the PHC string format:
//
//	$argon2id$v=19$m=65536,t=2,p=2$<salt>$<hash>
//
// salt and hash in unpadded standard base64. The parameters travel with
// the hash, so a hash made with older defaults still verifies.
const (
	saltLen = 16
	keyLen  = 32
)

var errMalformedHash = errors.New("malformed password hash")

// HashPassword returns the PHC string of password's argon2id hash with a
// fresh random salt.
func HashPassword(password string, p Argon2Config) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Iterations, p.MemoryKiB, p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Iterations, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword reports whether password matches the PHC string hash,
// comparing in constant time. An error means the hash itself is unusable.
func VerifyPassword(password, hash string) (bool, error) {
	p, salt, key, err := parseHash(hash)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Iterations, p.MemoryKiB, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

func parseHash(hash string) (Argon2Config, []byte, []byte, error) {
	var p Argon2Config
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, errMalformedHash
	}
	for kv := range strings.SplitSeq(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, nil, nil, errMalformedHash
		}
		switch k {
		case "m":
			p.MemoryKiB = uint32(n)
		case "t":
			p.Iterations = uint32(n)
		case "p":
			if n > 255 {
				return p, nil, nil, errMalformedHash
			}
			p.Threads = uint8(n)
		default:
			return p, nil, nil, errMalformedHash
		}
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	// Bounds keep a corrupt row from asking for absurd work.
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 || len(key) > 128 ||
		p.Threads < 1 || p.Iterations < 1 || p.Iterations > 100 || p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > 4<<20 {
		return p, nil, nil, errMalformedHash
	}
	return p, salt, key, nil
}

// hashSlot waits for one of the process's password-hash slots and returns
// its release: a flood of sign-ins queues for CPU and memory instead of
// running every argon2id hash at once. A caller that waits longer than
// hashWait gets RESOURCE_EXHAUSTED with a retry-after of one second.
func (s *Server) hashSlot(ctx context.Context) (release func(), err error) {
	t := time.NewTimer(s.hashWait)
	defer t.Stop()
	select {
	case s.hashing <- struct{}{}:
		return func() { <-s.hashing }, nil
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	case <-t.C:
		_ = grpc.SetHeader(ctx, metadata.Pairs(auth.RetryAfterKey, "1"))
		return nil, status.Errorf(codes.ResourceExhausted,
			"password checks are busy (%d running, iam.maxConcurrentHashes); retry after 1 second", cap(s.hashing))
	}
}

// verifyPassword is VerifyPassword in a hash slot.
func (s *Server) verifyPassword(ctx context.Context, password, hash string) (bool, error) {
	release, err := s.hashSlot(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	return VerifyPassword(password, hash)
}

// hashPassword is HashPassword with the server's parameters, in a hash
// slot; its error is the gRPC status to return.
func (s *Server) hashPassword(ctx context.Context, password string) (string, error) {
	release, err := s.hashSlot(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	h, err := HashPassword(password, s.cfg.Argon2)
	if err != nil {
		return "", status.Error(codes.Internal, "hashing the password failed")
	}
	return h, nil
}
