package paging

import (
	"encoding/base64"
	"fmt"
	"hash/crc32"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Page tokens carry a list's keyset position and a checksum of the query
// they belong to, so that a token is refused with another filter, order
// or parent: base64url of "format|field|...|crc". format versions the
// position's fields; a service that changes them bumps it, and older
// tokens are refused as foreign.

// EncodeToken makes the next_page_token of a page that ended at the
// position fields, for query (whatever selects the list: its filter,
// order and parent).
func EncodeToken(format, query string, fields ...string) string {
	raw := format + "|" + strings.Join(fields, "|") + fmt.Sprintf("|%08x", crc32.ChecksumIEEE([]byte(query)))
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// DecodeToken reads a token EncodeToken made with format and n fields for
// query. The last field may hold "|" (an email as a position); the
// others may not. An empty token is the first page: nil fields. A foreign
// or damaged token, or one of another format, is INVALID_ARGUMENT naming
// page_token; so is a token of another query.
func DecodeToken(token, format, query string, n int) ([]string, error) {
	if token == "" {
		return nil, nil
	}
	invalid := status.Error(codes.InvalidArgument, "page_token: is not a token this service issued; send the next_page_token of the previous page")
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, invalid
	}
	s := string(raw)
	head, rest, ok := strings.Cut(s, "|")
	last := strings.LastIndexByte(rest, '|')
	if !ok || head != format || last < 0 {
		return nil, invalid
	}
	fields := strings.SplitN(rest[:last], "|", n)
	if len(fields) != n {
		return nil, invalid
	}
	if rest[last+1:] != fmt.Sprintf("%08x", crc32.ChecksumIEEE([]byte(query))) {
		return nil, status.Error(codes.InvalidArgument, "page_token: belongs to a different query; keep the parameters (filter, order) of the first page, or start again without a token")
	}
	return fields, nil
}
