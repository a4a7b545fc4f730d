// Package webhook is kubedesk's outgoing webhooks: the WebhookService API
// (Server), and the deliveries (Dispatcher), which follow each webhook's
// tenant event stream from a cursor of the webhook's own, POST each event
// it subscribes to as JSON signed with HMAC-SHA256 (Sign), keep the
// order of each ticket's events, retry a failing receiver with
// exponential back-off and jitter for a day, then dead-letter the event
// and go on. The Guard keeps receivers out of private networks (SSRF):
// when a webhook is written, and again at every connection, so that a
// name that resolves elsewhere later gains nothing.
//
// docs/webhooks.md is the receiver's side: the headers, the signature,
// the retries and the address rules.
package webhook
