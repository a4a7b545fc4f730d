// Package smtpout composes kubedesk's outgoing mail and sends it through an
// SMTP relay.
//
// Compose renders a Mail (text and optional HTML, attachments, threading
// headers, any script in subjects, names and file names) as RFC 5322 bytes.
// A Sender, made from a Relay parsed from a URL such as
// smtp://user:pass@mail.example.com:587?tls=required-starttls, delivers those
// bytes: one connection per Send, bounded by its context.
//
// Send's errors say what a retry queue needs: a *SendError carries the
// relay's reply code and IsPermanent tells a 5xx refusal (give up, show a
// delivery failure) from a 4xx or a broken connection (retry with backoff).
// A 4xx for any recipient aborts the whole transaction, so a retry never
// duplicates the mail; a 5xx for some recipients while others accept is a
// *PartialError (delivered to the rest, do not retry).
//
// Credentials are sent only over TLS (smtps://, or after STARTTLS), or to a
// relay on loopback; errors and Relay.String never contain the password.
package smtpout
