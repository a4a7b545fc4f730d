// Package updatemask reads the update_mask of an AIP-134 update: the
// fields a request changes, checked against what the resource lets be
// updated.
package updatemask

import (
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// Paths returns the top-level fields of resource an update changes,
// sorted and without repeats. Without a mask, every updatable field set
// in resource is changed (grpc-gateway fills the mask from a PATCH body
// the same way). A sub-path of a message or map field (requester.email,
// custom_fields.tier) changes the field as a whole; id and etag identify
// the resource and its version and are skipped. Any other path, or none
// at all, is INVALID_ARGUMENT naming update_mask and the updatable fields.
func Paths(mask *fieldmaskpb.FieldMask, resource proto.Message, updatable []string) ([]string, error) {
	fields := resource.ProtoReflect().Descriptor().Fields()
	paths := mask.GetPaths()
	if len(paths) == 0 {
		resource.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
			if name := string(fd.Name()); slices.Contains(updatable, name) {
				paths = append(paths, name)
			}
			return true
		})
	}
	refused := func(format string, args ...any) error {
		return status.Errorf(codes.InvalidArgument, "update_mask: "+format+"; updatable: %s", append(args, strings.Join(updatable, ", "))...)
	}
	var tops []string
	for _, p := range paths {
		top, sub, nested := strings.Cut(p, ".")
		if top == "id" || top == "etag" {
			continue
		}
		fd := fields.ByName(protoreflect.Name(top))
		if !slices.Contains(updatable, top) || (nested && (sub == "" || fd == nil || (fd.Message() == nil && !fd.IsMap()))) {
			return nil, refused("%q cannot be updated", p)
		}
		tops = append(tops, top)
	}
	if len(tops) == 0 {
		return nil, refused("names no field")
	}
	slices.Sort(tops)
	return slices.Compact(tops), nil
}
