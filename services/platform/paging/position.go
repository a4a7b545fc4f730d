package paging

// Lists that page by one position (an ID, an e-mail address) share these
// two: the token carries the last row's position, in format "1".

const positionFormat = "1"

// Cut cuts rows, read with one more than size, to the page, and returns
// the next_page_token: the last row's position, pos, in a token of query;
// "" on the last page.
func Cut[T any](rows []T, size int, query string, pos func(T) string) ([]T, string) {
	if len(rows) <= size {
		return rows, ""
	}
	rows = rows[:size]
	return rows, EncodeToken(positionFormat, query, pos(rows[size-1]))
}

// Position reads the position a token of Cut carries; "" for no token.
func Position(token, query string) (string, error) {
	fields, err := DecodeToken(token, positionFormat, query, 1)
	if err != nil || fields == nil {
		return "", err
	}
	return fields[0], nil
}
