package channel

import channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"

// OrganizationServer is the OrganizationService that Register serves.
func OrganizationServer(s *Server) channelv1.OrganizationServiceServer { return orgServer{s: s} }
