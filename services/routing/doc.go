// Package routing decides who works on what: the routing groups and their
// strategies (round robin, least loaded, skills, pool), the agents'
// skills, capacity and presence, the rules in force (services/routing/rules),
// the queues tickets wait in, claims from a pool and transfers. It follows
// the ticket event stream and applies each decision through the ticket
// service's internal TicketRoutingService; every decision is stored with
// the reasons that explain it, rendered in the reader's language when read.
package routing
