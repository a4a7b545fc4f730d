package mail

import (
	"path"
	"strings"
)

// maxFilenameBytes bounds a file name, as most file systems do.
const maxFilenameBytes = 255

// baseName keeps the last element of a file name ("../../etc/passwd" ->
// "passwd", `C:\Users\x\a.pdf` -> "a.pdf") without control characters; ""
// when nothing usable is left.
func baseName(s string) string {
	s = strings.ReplaceAll(s, `\`, "/")
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\uFFFE' || r == '\uFEFF' {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if strings.Trim(s, ".") == "" {
		return ""
	}
	if len(s) > maxFilenameBytes {
		ext := path.Ext(s)
		if len(ext) > 16 {
			ext = ""
		}
		s = clipBytes(s, maxFilenameBytes-len(ext)) + ext
	}
	return s
}

// clipBytes cuts s to at most n bytes on a rune boundary.
func clipBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// extensions names files that came without a name.
var extensions = map[string]string{
	"text/plain": "txt", "text/html": "html", "text/calendar": "ics", "text/csv": "csv",
	"text/rfc822-headers": "txt", "message/delivery-status": "txt", "message/disposition-notification": "txt",
	"message/rfc822": "eml", "message/global": "eml",
	"image/png": "png", "image/jpeg": "jpg", "image/jpg": "jpg", "image/gif": "gif", "image/webp": "webp",
	"image/bmp": "bmp", "image/svg+xml": "svg", "image/tiff": "tif",
	"application/pdf": "pdf", "application/zip": "zip", "application/json": "json",
	"application/msword": "doc", "application/vnd.ms-excel": "xls",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   "docx",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         "xlsx",
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
	"audio/mpeg": "mp3", "video/mp4": "mp4", "application/pgp-signature": "asc",
	"application/pkcs7-signature": "p7s", "application/x-pkcs7-signature": "p7s",
}

// extension is the file extension for a media type, "bin" when unknown.
func extension(mt string) string {
	if e, ok := extensions[mt]; ok {
		return e
	}
	return "bin"
}
