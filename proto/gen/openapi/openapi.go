// Package openapi embeds the OpenAPI (Swagger 2.0) description that
// protoc-gen-openapiv2 generates from kubedesk's protos, for the gateway to
// serve at /openapi.json. This file is written by hand; the JSON beside it
// is generated (`make generate`).
package openapi

import _ "embed"

// JSON is the merged OpenAPI description of every kubedesk API.
//
//go:embed kubedesk.swagger.json
var JSON []byte
