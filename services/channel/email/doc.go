// Package email is the e-mail channel: mail that reaches kubedesk's SMTP
// listener becomes tickets and comments, and agents' public replies go
// back out through the tenant's SMTP relay.
//
// Inbound, one message takes these steps, and the SMTP server answers 250
// only once the last one is committed:
//
//  1. its recipients are looked up in the Directory (the inbound
//     addresses of every tenant's spec.channels.email; 550 otherwise);
//  2. it is parsed (package mail); auto-replies, bulk and list mail and
//     bounces are accepted and dropped, never answered;
//  3. a Message-ID seen before is a no-op; a sender over its rate cap is
//     told to try later (451);
//  4. it is threaded: In-Reply-To and References against the Message-IDs
//     recorded for the tenant, then the [#number] token of the subject,
//     else it opens a new ticket;
//  5. the sender resolves to a contact, the attachments and the raw
//     message go to the blob store, and the ticket or comment is written
//     through the ticket service with an idempotency key derived from the
//     Message-ID, so a retry after a failure writes nothing twice;
//  6. the Message-ID is recorded with the ticket, with the quoted history
//     and sanitised HTML that the comment's text leaves out.
//
// Outbound, Outbound follows the ticket event stream: an auto-
// acknowledgement for a new e-mail ticket and every public agent reply on
// a ticket that came by e-mail are sent with a Message-ID derived from the
// event, so a retried send is recognisable as the same mail. Each is
// written by the tenant's templates (spec.channels.email.templates) over
// the built-in ones in templates/, in the requester's contact's locale,
// else the tenant's defaultLocale, else the script of the customer's
// text, else the tenant's locale: the first the tenant has a template
// for, English last (Templates.Render).
package email
