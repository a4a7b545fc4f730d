// Package mail parses inbound e-mail for kubedesk's SMTP channel.
//
// Parse reads one RFC 5322 message (untrusted input) and returns a Message:
// the envelope headers (From, To, Cc, Reply-To, Subject, Date, Message-ID,
// In-Reply-To, References) decoded to UTF-8 (RFC 2047 encoded words, RFC 6532
// raw UTF-8, and raw 8-bit GB18030 as Chinese clients send it), the plain-text
// and sanitised HTML bodies, attachments and inline images (RFC 2231 and
// RFC 2047 file names), the part of the text a reader needs (Visible) and the
// quoted history and signature (Folded), and a Kind that says whether the
// message is an auto-reply, bulk mail or a bounce, which must neither open
// tickets nor get auto-replies.
//
// Body charsets are decoded with golang.org/x/text: GB2312 and GBK are read
// as GB18030 (their superset, since real GB2312 mail often holds GBK
// characters); an unknown charset decodes with U+FFFD for every non-ASCII byte
// and adds a Warning. HTML is sanitised with a bluemonday UGC policy (no
// script, style, iframe, object or form; no on* attributes; no javascript:
// URLs; cid: image sources are kept for inline images).
//
// # Limits
//
// Limits bound the work one message may cost; zero fields take the defaults:
// 200 MIME parts in total, 16 levels of nesting, 256 KiB of header per part,
// 1 MiB per line and 25 MiB per message. The input is read through a
// bounded reader, so an over-long line or message fails with a ParseError
// after reading at most the limit, never after buffering all of it. Parts are
// held in memory once (decoded), bounded by the message limit.
//
// What cannot become a ticket (missing or unparseable From, a malformed
// top-level header, a limit exceeded) is a *ParseError naming the field and
// what is accepted; any other content problem (an unknown charset or transfer
// encoding, a broken multipart boundary, a bad address in Cc) is a Warning and
// the message is kept. Nested message/rfc822 parts are kept as .eml
// attachments and not parsed further.
package mail
