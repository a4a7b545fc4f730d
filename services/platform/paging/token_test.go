package paging

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestToken(t *testing.T) {
	tok := EncodeToken("2", "status = new", "01a2", "")
	email := EncodeToken("1", "users", "odd|name@example.com")
	tests := []struct {
		name          string
		token, format string
		query         string
		n             int
		want          []string
		err           string
	}{
		{name: "first page", token: "", format: "2", n: 2},
		{name: "round trip", token: tok, format: "2", query: "status = new", n: 2, want: []string{"01a2", ""}},
		{name: "a bar in the last field", token: email, format: "1", query: "users", n: 1, want: []string{"odd|name@example.com"}},
		{name: "another query", token: tok, format: "2", query: "status = open", n: 2, err: "belongs to a different query"},
		{name: "another format", token: tok, format: "3", query: "status = new", n: 2, err: "is not a token this service issued"},
		{name: "too few fields", token: EncodeToken("2", "q", "only"), format: "2", query: "q", n: 2, err: "is not a token this service issued"},
		{name: "not base64", token: "!!!", format: "2", n: 2, err: "is not a token this service issued"},
		{name: "no checksum", token: "Mnx4", format: "2", n: 1, err: "is not a token this service issued"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeToken(tt.token, tt.format, tt.query, tt.n)
			if tt.err != "" {
				if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("DecodeToken = %v, want INVALID_ARGUMENT naming %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCutAndPosition(t *testing.T) {
	rows := []string{"a", "b", "c"}
	tests := []struct {
		size     int
		wantRows int
		wantNext bool
	}{
		{2, 2, true},  // three rows read for a page of two: one more page
		{3, 3, false}, // all of them fit: the last page
		{5, 3, false},
	}
	for _, tt := range tests {
		got, next := Cut(rows, tt.size, "q", func(s string) string { return s })
		if len(got) != tt.wantRows || (next != "") != tt.wantNext {
			t.Errorf("Cut(size %d) = %v, %q", tt.size, got, next)
			continue
		}
		if next == "" {
			continue
		}
		pos, err := Position(next, "q")
		if err != nil || pos != got[len(got)-1] {
			t.Errorf("Position(%q) = %q, %v; want %q", next, pos, err, got[len(got)-1])
		}
		if _, err := Position(next, "another query"); err == nil {
			t.Error("a token of another query was accepted")
		}
	}
	if pos, err := Position("", "q"); pos != "" || err != nil {
		t.Errorf(`Position("") = %q, %v`, pos, err)
	}
}
