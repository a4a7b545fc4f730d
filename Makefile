# kubedesk: `make help` lists every target.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
BIN       := $(CURDIR)/bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/kubedesk/kubedesk/services/platform/buildinfo.Version=$(VERSION)
OPERATOR_LDFLAGS := -s -w -X main.version=$(VERSION)
# Every module of the workspace (hack/tools aside); `go test` takes their
# package patterns at once. They require each other one way only (see
# hack/check-modules.sh): proto and operator/api at the bottom, workflows on
# them, operator and services on top.
MODULES   := proto operator/api workflows services operator e2e
PKGS      := $(foreach m,$(MODULES),github.com/kubedesk/kubedesk/$(m)/...)
# Packages whose tests need nothing but Go (no Docker image).
UNIT_PKGS := $(foreach m,proto operator/api workflows services operator,github.com/kubedesk/kubedesk/$(m)/...)
GOLANGCI_LINT := $(BIN)/golangci-lint
# Packages that run a real Temporal server on real timers: they run
# without the race detector, which slows the server threefold. The
# workflow code itself is race-tested by its unit tests.
REAL_TEMPORAL_PKGS := github.com/kubedesk/kubedesk/workflows/temporalserver github.com/kubedesk/kubedesk/workflows/escalation/internal/record

export TESTCONTAINERS_RYUK_DISABLED := true
# kube-apiserver and etcd for the operator's envtest suites (operator/internal/testenv).
export KUBEBUILDER_ASSETS ?= $(BIN)/k8s

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build bin/kubedesk and bin/kubedesk-operator (static).
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/kubedesk ./services/cmd/kubedesk
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(OPERATOR_LDFLAGS)' -o $(BIN)/kubedesk-operator ./operator/cmd/kubedesk-operator

.PHONY: run
run: build ## Run everything in one process on http://localhost:8080 (SQLite and Temporal in ./data); ARGS=... adds flags.
	$(BIN)/kubedesk serve --target=all $(ARGS)

.PHONY: test
test: images envtest helm ## Run every test: unit, both store engines, the gateway, the operator on a real API server, the charts, the container test.
	hack/ensure-postgres.sh
	$(GO) test -count=1 -race $$($(GO) list $(UNIT_PKGS) | grep -v -x $(foreach p,$(REAL_TEMPORAL_PKGS),-e $(p)))
	$(GO) test -count=1 $(REAL_TEMPORAL_PKGS)
	$(GO) test -count=1 github.com/kubedesk/kubedesk/e2e/...

.PHONY: generate
generate: ## Regenerate committed code (protobuf, gRPC, gateway, OpenAPI, deepcopy, CRDs).
	cd proto && $(GO) tool buf generate --path kubedesk
	cd operator/api && $(GO) tool controller-gen object paths=./... crd output:crd:artifacts:config=../config/crd/bases
	cd operator && $(GO) tool controller-gen rbac:roleName=kubedesk-operator paths=./internal/... output:rbac:artifacts:config=config/rbac
	hack/sync-chart-crds.sh

.PHONY: lint
lint: helm ## Lint Go (golangci-lint, pinned), protobuf (buf STANDARD) and the Helm charts.
	hack/install-golangci-lint.sh $(BIN)
	cd proto && $(GO) tool buf lint
	$(BIN)/helm lint --strict charts/kubedesk-operator
	$(BIN)/helm lint --strict charts/kubedesk
	$(GOLANGCI_LINT) run $(foreach m,$(MODULES),./$(m)/...)

.PHONY: verify
verify: generate ## Fail when generated code, go.mod files, formatting or version pins are stale, modules require each other in a cycle, or the operator links Temporal.
	cd proto && $(GO) tool buf lint
	hack/check-pins.sh
	hack/check-modules.sh
	hack/check-operator-deps.sh
	# tidy, sync the workspace build list into every go.mod, tidy again:
	# one pass settles, so a clean tree stays clean.
	for m in $(MODULES) hack/tools; do (cd $$m && $(GO) mod tidy); done
	$(GO) work sync
	for m in $(MODULES) hack/tools; do (cd $$m && $(GO) mod tidy); done
	test -z "$$(gofmt -l $(MODULES))" || { gofmt -l $(MODULES); echo 'gofmt: the files above need formatting' >&2; exit 1; }
	$(GO) vet $(PKGS)
	git diff --exit-code || { echo 'verify: the tree changed; commit the regenerated files' >&2; exit 1; }
	test -z "$$(git status --porcelain)" || { git status --porcelain; echo 'verify: untracked files appeared' >&2; exit 1; }

.PHONY: envtest
envtest: ## Build kube-apiserver and etcd for envtest into bin/k8s (once per version; cached in ~/.cache/kubedesk).
	hack/install-envtest-binaries.sh $(KUBEBUILDER_ASSETS)

.PHONY: helm
helm: ## Build helm into bin/ (once per version; cached in ~/.cache/kubedesk).
	hack/install-helm.sh $(BIN)

.PHONY: images
images: ## Build the kubedesk:dev and kubedesk-operator:dev images FROM scratch (no registry needed).
	VERSION='$(VERSION)' LDFLAGS='$(LDFLAGS)' hack/build-image.sh kubedesk kubedesk:dev
	VERSION='$(VERSION)' LDFLAGS='$(OPERATOR_LDFLAGS)' IMAGE_PKG=./operator/cmd/kubedesk-operator hack/build-image.sh kubedesk-operator kubedesk-operator:dev

.PHONY: bench
bench: ## Benchmarks: REST create (SQLite, PostgreSQL with and without credentials, raw pgx), sign-in, start-up, RSS, 10k SLA breaches, 1,000 mails over SMTP, 2,000 WeChat messages, 10,000 webhook deliveries, 500 chat visitors, routing decisions (1,000 agents, 200 rules), 10,000 tickets routed end to end, 1,000 claim races of 100 agents, rule evaluation and the routing store, calendar, Temporal start.
	hack/ensure-postgres.sh
	$(GO) test -run '^$$' -bench 'Create' -benchtime 20000x -count 1 ./services/cmd/kubedesk
	$(GO) test -run '^$$' -bench 'SignIn' -benchtime 200x -count 1 ./services/cmd/kubedesk
	$(GO) test -run '^$$' -bench 'Startup' -benchtime 10x -count 1 ./services/cmd/kubedesk
	$(GO) test -run '^$$' -bench 'Memory' -benchtime 1x -count 1 -timeout 30m ./services/cmd/kubedesk
	$(GO) test -run '^$$' -bench 'SLABreaches' -benchtime 10000x -count 1 -timeout 30m ./services/cmd/kubedesk
	$(GO) test -run '^$$' -bench 'MailIn' -benchtime 1000x -count 1 -timeout 30m ./services/cmd/kubedesk
	$(GO) test -run '^$$' -bench 'WeChatIn' -benchtime 2000x -count 1 -timeout 30m ./services/cmd/kubedesk
	$(GO) test -run '^$$' -bench 'Webhooks' -benchtime 10000x -count 1 -timeout 30m ./services/cmd/kubedesk
	$(GO) test -run '^$$' -bench 'ChatVisitors' -benchtime 500x -count 1 -timeout 30m ./services/cmd/kubedesk
	$(GO) test -run '^$$' -bench 'RoutingDecision' -benchtime 2000x -count 1 ./services/cmd/kubedesk
	$(GO) test -run '^$$' -bench 'RoutingEndToEnd' -benchtime 10000x -count 1 -timeout 30m ./services/cmd/kubedesk
	$(GO) test -run '^$$' -bench 'ClaimRace' -benchtime 1000x -count 1 -timeout 30m ./services/cmd/kubedesk
	$(GO) test -run '^$$' -bench . -count 1 ./services/channel/mail ./services/platform/blob ./services/routing/rules
	$(GO) test -run '^$$' -bench . -benchtime 1000x -count 1 ./services/routing/store
	$(GO) test -run '^$$' -bench . -count 1 ./workflows/calendar
	$(GO) test -run '^$$' -bench Tenants -benchtime 1x -count 1 -timeout 30m ./operator/internal/controller/tenant
	$(GO) test -run '^$$' -bench ManagerProcess -benchtime 1x -count 1 -timeout 30m ./operator/cmd/kubedesk-operator
	$(GO) test -run '^$$' -bench . -benchtime 5x -count 1 ./workflows/temporalserver
