package auth

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
)

// rule is a method's access declaration, in the form the interceptor
// checks it.
type rule struct {
	public bool
	roles  []iamv1.Role
	// accepted names the roles for messages: "admin, supervisor".
	accepted string
}

// Infrastructure reports whether a method belongs to no tenant and needs
// no credential: health checks and reflection.
func Infrastructure(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, "/grpc.health.v1.Health/") || strings.HasPrefix(fullMethod, "/grpc.reflection.")
}

// errNoRule is why a method cannot be called: it declares no
// (kubedesk.iam.v1.access) option, or declares one that admits nobody.
var errNoRule = errors.New("declares no access rule")

// lookupRule reads the access declaration of a gRPC method
// ("/kubedesk.ticket.v1.TicketService/GetTicket") from the registry of
// compiled-in proto files.
func lookupRule(fullMethod string) (*rule, error) {
	name := protoreflect.FullName(strings.Replace(strings.TrimPrefix(fullMethod, "/"), "/", ".", 1))
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is in no registered .proto file", errNoRule, name)
	}
	m, ok := d.(protoreflect.MethodDescriptor)
	if !ok {
		return nil, fmt.Errorf("%w: %s is not a method", errNoRule, name)
	}
	return ruleOf(m)
}

func ruleOf(m protoreflect.MethodDescriptor) (*rule, error) {
	opts := m.Options()
	if opts == nil || !proto.HasExtension(opts, iamv1.E_Access) {
		return nil, errNoRule
	}
	a, _ := proto.GetExtension(opts, iamv1.E_Access).(*iamv1.Access)
	if a.GetPublic() {
		return &rule{public: true}, nil
	}
	if len(a.GetRoles()) == 0 {
		return nil, fmt.Errorf("%w: its (kubedesk.iam.v1.access) lists no roles and is not public", errNoRule)
	}
	return &rule{roles: slices.Clone(a.GetRoles()), accepted: RoleNames(a.GetRoles())}, nil
}

// registeredRules reads the access declaration of every method of every
// registered kubedesk file once, so that a call finds its rule in a map.
func registeredRules() map[string]*rule {
	rules := map[string]*rule{}
	protoregistry.GlobalFiles.RangeFiles(func(f protoreflect.FileDescriptor) bool {
		services := f.Services()
		for i := range services.Len() {
			methods := services.Get(i).Methods()
			for j := range methods.Len() {
				m := methods.Get(j)
				if r, err := ruleOf(m); err == nil {
					rules["/"+string(m.Parent().FullName())+"/"+string(m.Name())] = r
				}
			}
		}
		return true
	})
	return rules
}

// ServiceInfoProvider is what CheckDeclared reads; *grpc.Server is one.
type ServiceInfoProvider interface {
	GetServiceInfo() map[string]grpc.ServiceInfo
}

// CheckDeclared reports every method of every service registered on s,
// health and reflection aside, that declares no access rule: the
// interceptor refuses all calls to those, so a server that has any is
// misbuilt. Run it once every service is registered, before serving.
func CheckDeclared(s ServiceInfoProvider) error {
	var missing []string
	for svc, info := range s.GetServiceInfo() {
		for _, m := range info.Methods {
			full := "/" + svc + "/" + m.Name
			if Infrastructure(full) {
				continue
			}
			if _, err := lookupRule(full); err != nil {
				missing = append(missing, fmt.Sprintf("%s.%s %v", svc, m.Name, err))
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	slices.Sort(missing)
	return fmt.Errorf("every kubedesk RPC must declare option (kubedesk.iam.v1.access) = {roles: [...]} or {public: true}; %d do not: %s",
		len(missing), strings.Join(missing, "; "))
}
