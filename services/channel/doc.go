// Package channel is kubedesk's customer component: contacts (one person
// whatever channel they write on, each identity held by one contact of a
// tenant) and the organisations they belong to. It serves
// kubedesk.channel.v1's ContactService and OrganizationService over a
// store.Store, and gives the mail channel Resolve, which finds or creates
// the contact of a sender. SendSignInCode mails a contact a one-time
// code, issued by the identity module, to sign in as a customer.
//
// Tickets stay the ticket service's: merging two contacts moves the
// tickets of one to the other through the ticket API (UpdateTicket of
// requester.contact_id), and the customer card (GetContactSummary) reads
// them through ListTickets. Calls to the ticket service name the caller's
// tenant in their metadata (tenant.Outgoing); the connection given to
// NewServer carries the module's own credential.
package channel
