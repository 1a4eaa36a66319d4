# Tollgate — billing automation for ISPs. See README.md.
#
#   make demo    controller + agent + ephemeral PostgreSQL, a suspension and a restoration
#   make test    everything CI runs: setup, lint, generated-code check, all tests
#   make bench   benchmarks -> bench/results.json
#   make proto   regenerate proto/tollgate/v1/*.pb.go
#   make lint    gofmt, go vet, staticcheck, the OpenAPI document through @redocly/cli

SHELL := /bin/bash
GO    ?= go
BIN   := $(CURDIR)/.bin
export PATH := $(BIN):$(PATH)

# Tool versions, installed into .bin through the Go module proxy.
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.1
STATICCHECK_VERSION        := v0.8.2

PROTO_FILES := $(shell find proto -name '*.proto')
GO_TEST_FLAGS ?= -count=1 -timeout 15m

.PHONY: all setup tools build test lint openapi-lint proto proto-check demo bench clean

all: build

setup:
	@bash scripts/setup.sh

$(BIN)/protoc-gen-go:
	@GOBIN=$(BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
$(BIN)/protoc-gen-go-grpc:
	@GOBIN=$(BIN) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
$(BIN)/staticcheck:
	@GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
$(BIN)/stripe-mock:
	@GOBIN=$(BIN) $(GO) install github.com/stripe/stripe-mock@v0.203.0

tools: $(BIN)/protoc-gen-go $(BIN)/protoc-gen-go-grpc $(BIN)/staticcheck $(BIN)/stripe-mock

build:
	@$(GO) build -o $(BIN)/ ./cmd/...

# protoc writes next to the .proto files; generated code is committed.
proto: setup $(BIN)/protoc-gen-go $(BIN)/protoc-gen-go-grpc
	@protoc --proto_path=proto \
		--go_out=proto --go_opt=paths=source_relative \
		--go-grpc_out=proto --go-grpc_opt=paths=source_relative \
		$(patsubst proto/%,%,$(PROTO_FILES))

# Fails when the committed generated code differs from what `make proto` makes.
proto-check: setup $(BIN)/protoc-gen-go $(BIN)/protoc-gen-go-grpc
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	protoc --proto_path=proto \
		--go_out=$$tmp --go_opt=paths=source_relative \
		--go-grpc_out=$$tmp --go-grpc_opt=paths=source_relative \
		$(patsubst proto/%,%,$(PROTO_FILES)); \
	for f in $$(cd $$tmp && find . -name '*.go'); do \
		if ! diff -u proto/$$f $$tmp/$$f >/dev/null; then \
			echo "proto-check: proto/$$f is stale; run 'make proto' and commit the result" >&2; exit 1; \
		fi; \
	done; echo "proto-check: generated code is current"

lint: $(BIN)/staticcheck
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$') 2>/dev/null); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	@$(GO) vet ./...
	@staticcheck ./...
	@$(MAKE) --no-print-directory openapi-lint
	@echo "lint: clean"

# The served OpenAPI document passes Redocly's recommended ruleset with no
# error and no warning. @redocly/cli is pinned in internal/webassets/npm
# (committed lockfile); its telemetry is off.
NPM_DIR := internal/webassets/npm
openapi-lint: setup
	@npm ci --prefix $(NPM_DIR) --no-audit --no-fund --loglevel=error >/dev/null
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	$(GO) run ./cmd/tollgate-controller openapi > $$tmp/openapi.json && \
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
		$(NPM_DIR)/node_modules/.bin/redocly lint --format=summary $$tmp/openapi.json > $$tmp/lint.txt 2>&1; rc=$$?; \
	if [ $$rc -ne 0 ] || grep -qE '^(warning|error) ' $$tmp/lint.txt; then \
		grep -vE '[║╔╚]' $$tmp/lint.txt; echo "openapi-lint: the OpenAPI document has problems (above)" >&2; exit 1; \
	fi; echo "openapi-lint: the OpenAPI document passes @redocly/cli's recommended rules"

test: setup lint proto-check $(BIN)/stripe-mock
	$(GO) test $(GO_TEST_FLAGS) ./...

demo: setup build
	@bash scripts/demo.sh

bench: setup
	@bash scripts/bench.sh

clean:
	rm -rf $(BIN)
