// Package smtpin is kubedesk's inbound SMTP server (an MX for the help
// desk's addresses), built on github.com/emersion/go-smtp.
//
// The server speaks the protocol and enforces the limits an
// internet-facing MX needs: message size (552 5.3.4, never buffering
// more than the limit), recipients per message (452 4.5.3), connections
// in all and per remote address (421 4.7.0 at connect) and messages per
// remote address (451 4.7.1 at MAIL FROM, with a retry hint). It offers
// STARTTLS when a certificate is configured, 8BITMIME and SMTPUTF8, and
// no AUTH.
//
// It knows nothing about tickets: a Backend vets each recipient and
// stores each message. The server answers 250 only after
// Backend.Deliver returned nil, so a message is acknowledged once it is
// stored; a failing store answers 451 and the sender retries. Backend
// calls get a context with a deadline (Config.BackendTimeout) that is
// also cancelled when Shutdown gives up waiting.
//
// Each message is logged once at Info (remote address, sender,
// recipient count, size, result, duration; never the body) and counted
// in the OpenTelemetry meter "kubedesk/channel/smtpin":
// kubedesk_smtp_messages_total{result} and
// kubedesk_smtp_delivery_duration_seconds{result}, the time from the end
// of DATA to the reply.
package smtpin
