// Package chat is the live web chat's side in the channel service. A
// visitor is a browser holding a token that names a random visitor ID,
// signed (HMAC-SHA256) with the deployment's visitor key and bound to the
// tenant; the visitor's contact holds that ID as a web identity. A chat is
// a ticket on channel chat requested by that contact: the first message
// is its description, every later one a public comment, written through
// the ticket service's API like the other channels' messages.
//
// Every message of a chat has a seq, 1, 2, 3, ... in the order the channel
// service stored it (the store's channel_chat_messages): the sender of a
// visitor's message stores it as soon as the ticket service has it, and
// the Follower stores what comes through the ticket event stream (agents'
// public replies; the visitor's messages again, which changes nothing).
// Streams (the visitor's through the gateway, an agent's WatchChat) read
// the store after a seq and are woken by the Hub, so a stream resumed
// with the last seq seen loses and repeats nothing.
//
// What is not stored: typing. It goes from the gateway to the channel
// service as a unary call (SignalChatVisit, SignalChat) and from there to
// the streams of the chat through the Hub; between replicas of the
// channel service over PostgreSQL's NOTIFY (PGRelay), so a visitor and
// an agent served by different replicas see each other type. Read
// receipts are stored with the chat and travel as its wake-ups.
//
// The Sweeper offers waiting chats to the agents of their group who
// report themselves online (ReportChatPresence, the smallest presence
// there can be until the routing service exists), and asks the visitor
// for an e-mail address when nobody of the group came within the tenant's
// wait; with one given, the ticket's requester gets it and the e-mail
// channel sends the agents' replies (email.Outbound asks ChatByEmail).
package chat
