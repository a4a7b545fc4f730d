// Package proto_test checks rules that span every kubedesk API, so that a
// new service's proto follows them too.
package proto_test

import (
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	_ "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	_ "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/sla/v1"
	_ "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
)

// kubedeskFiles are the registered files of kubedesk's own APIs.
func kubedeskFiles() []protoreflect.FileDescriptor {
	var files []protoreflect.FileDescriptor
	protoregistry.GlobalFiles.RangeFiles(func(f protoreflect.FileDescriptor) bool {
		if strings.HasPrefix(f.Path(), "kubedesk/") {
			files = append(files, f)
		}
		return true
	})
	return files
}

// TestRESTResourcesAreAnnotated checks AIP-123 on every REST method: the
// resource a Get, Create or Update returns, and the items a List returns,
// declare google.api.resource with a pattern whose collection is in the
// method's path; and every google.api.resource_reference names a declared
// resource type.
func TestRESTResourcesAreAnnotated(t *testing.T) {
	files := kubedeskFiles()
	if len(files) < 4 {
		t.Fatalf("found %d kubedesk proto files, want the ticket, SLA and IAM APIs at least", len(files))
	}
	declared := map[string]bool{}
	for _, f := range files {
		msgs := f.Messages()
		for i := range msgs.Len() {
			if r := resource(msgs.Get(i)); r != nil {
				declared[r.GetType()] = true
			}
		}
	}
	for _, f := range files {
		services := f.Services()
		for i := range services.Len() {
			methods := services.Get(i).Methods()
			for j := range methods.Len() {
				m := methods.Get(j)
				rule, _ := proto.GetExtension(m.Options(), annotations.E_Http).(*annotations.HttpRule)
				path := httpPath(rule)
				if path == "" {
					continue // no REST mapping (an internal service, such as TicketSLAService)
				}
				msg := returnedResource(m, rule)
				if msg == nil {
					continue
				}
				r := resource(msg)
				if r == nil {
					t.Errorf("%s returns %s over REST (%s), which has no google.api.resource", m.FullName(), msg.FullName(), path)
					continue
				}
				if !strings.Contains(path, "/"+r.GetPlural()) || len(r.GetPattern()) == 0 {
					t.Errorf("%s: %s declares plural %q and pattern %q, not the collection of its path %s", m.FullName(), msg.FullName(), r.GetPlural(), r.GetPattern(), path)
				}
			}
		}
		walkFields(f.Messages(), func(fd protoreflect.FieldDescriptor) {
			ref, _ := proto.GetExtension(fd.Options(), annotations.E_ResourceReference).(*annotations.ResourceReference)
			for _, typ := range []string{ref.GetType(), ref.GetChildType()} {
				if typ != "" && !declared[typ] {
					t.Errorf("%s references resource type %q, which no kubedesk message declares", fd.FullName(), typ)
				}
			}
		})
	}
}

func resource(m protoreflect.MessageDescriptor) *annotations.ResourceDescriptor {
	r, _ := proto.GetExtension(m.Options(), annotations.E_Resource).(*annotations.ResourceDescriptor)
	return r
}

func httpPath(r *annotations.HttpRule) string {
	switch p := r.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		return p.Get
	case *annotations.HttpRule_Post:
		return p.Post
	case *annotations.HttpRule_Patch:
		return p.Patch
	case *annotations.HttpRule_Put:
		return p.Put
	case *annotations.HttpRule_Delete:
		return p.Delete
	}
	return ""
}

// returnedResource is the resource a REST method hands back: its
// response_body field's message, or for a List method the message of the
// response's repeated field; nil for other methods (WatchEvents).
func returnedResource(m protoreflect.MethodDescriptor, r *annotations.HttpRule) protoreflect.MessageDescriptor {
	out := m.Output()
	if body := r.GetResponseBody(); body != "" {
		if fd := out.Fields().ByName(protoreflect.Name(body)); fd != nil && fd.Message() != nil {
			return fd.Message()
		}
		return nil
	}
	if strings.HasPrefix(string(m.Name()), "List") {
		fields := out.Fields()
		for i := range fields.Len() {
			if fd := fields.Get(i); fd.IsList() && fd.Message() != nil {
				return fd.Message()
			}
		}
	}
	return nil
}

func walkFields(msgs protoreflect.MessageDescriptors, fn func(protoreflect.FieldDescriptor)) {
	for i := range msgs.Len() {
		m := msgs.Get(i)
		fields := m.Fields()
		for j := range fields.Len() {
			fn(fields.Get(j))
		}
		walkFields(m.Messages(), fn)
	}
}
