// Package paging holds the page-size rule every list method follows
// (AIP-158): page_size 0 means the default, larger than the maximum is
// capped, never refused, and never a full scan.
package paging

// Page sizes of the list methods.
const (
	DefaultSize = 50
	MaxSize     = 100
)

// Size returns the page size to serve for a request's page_size; negative
// values are refused earlier, by the request's validation rules.
func Size(n int32) int {
	switch {
	case n <= 0:
		return DefaultSize
	case n > MaxSize:
		return MaxSize
	}
	return int(n)
}
