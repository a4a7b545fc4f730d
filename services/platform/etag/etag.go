// Package etag is the version tag of optimistic concurrency every
// resource with a version uses (AIP-154): the version as "v3", sent back
// in an update (REST: If-Match) as v3, "v3" or W/"v3".
package etag

import (
	"context"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Format is the tag of a version.
func Format(version int64) string { return "v" + strconv.FormatInt(version, 10) }

// Parse reads the forms clients send back: v3, "v3" and W/"v3"; false
// for anything else.
func Parse(s string) (int64, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "W/")
	s = strings.TrimPrefix(strings.Trim(s, `"`), "v")
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil && v > 0
}

// IfMatchMetadata is the gRPC metadata key the gateway forwards the
// If-Match header under.
const IfMatchMetadata = "if-match"

// Expected is the version an update expects: the etag in its body, else
// the If-Match header's (metadata IfMatchMetadata; "*" is any version);
// 0 when it names none. A tag that is not one of ours is INVALID_ARGUMENT
// naming the field, what (e.g. "ticket") saying whose etag to send back.
func Expected(ctx context.Context, body, what string) (int64, error) {
	tag := body
	if tag == "" {
		if v := metadata.ValueFromIncomingContext(ctx, IfMatchMetadata); len(v) > 0 && v[0] != "*" {
			tag = v[0]
		}
	}
	if tag == "" {
		return 0, nil
	}
	v, ok := Parse(tag)
	if !ok {
		return 0, status.Errorf(codes.InvalidArgument, "etag: %q is not an etag of this service; send back the etag of the %s you read, e.g. \"v3\"", tag, what)
	}
	return v, nil
}
