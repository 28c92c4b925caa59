# ferry — two commands on a fresh machine: `make demo` and `make test`.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
BIN := $(CURDIR)/bin
GO ?= go
export PATH := $(BIN):$(PATH)
export TF_CLI_CONFIG_FILE := $(BIN)/terraformrc
export CHECKPOINT_DISABLE := 1
export GOFLAGS ?= -buildvcs=false

.PHONY: all tools tools-dev build test unit integration demo dev bench lint soak fuzz clean browser

all: build

## tools: pinned Temporal CLI, terraform (unless >= 1.8 on PATH), the google provider, the Temporal server and its SQL tool into ./bin; PostgreSQL from apt when missing (root)
tools:
	@./hack/tools.sh all

## tools-dev: the tools the local stack needs (make demo, make dev): the Temporal CLI, terraform and the provider, not the Temporal server nor PostgreSQL
tools-dev:
	@./hack/tools.sh dev

## build: the ferry binary into ./bin/ferry
build:
	$(GO) build -o $(BIN)/ferry ./cmd/ferry

## browser: Debian chromium for the browser tests (apt-get when missing and root)
browser:
	@./hack/browser.sh

## test: everything, unit and integration, with the real tools; the chaos
## run on the dev server is make soak's (the production-shaped cluster's
## chaos, with the same kills, runs here)
test: tools build browser
	@source ./bin/.browser-env 2>/dev/null || true; \
	FERRY_REQUIRE_TOOLS=1 $(GO) test -count=1 -timeout 25m -p 2 -skip '^TestChaos$$' ./...

## unit: fast tests only (no external tools)
unit:
	$(GO) test -count=1 -short ./...

## demo: the local stack with a first wave waiting for approval
demo: tools-dev build
	$(BIN)/ferry dev --demo

dev: tools-dev build
	$(BIN)/ferry dev

## bench: every benchmark, each printing its ratio against a floor measured in the same run
bench: tools
	FERRY_REQUIRE_TOOLS=1 $(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./...

## soak: the long chaos runs: on the dev server, and on the production-shaped cluster (Temporal server, PostgreSQL, mTLS, 3 workers)
soak: tools build
	FERRY_REQUIRE_TOOLS=1 FERRY_SOAK=1 $(GO) test -count=1 -timeout 180m -run 'Chaos' ./test/...

## lint: go vet plus pinned staticcheck
lint:
	@./hack/tools.sh staticcheck
	$(GO) vet ./...
	$(BIN)/staticcheck ./...

clean:
	rm -rf $(BIN)/ferry .ferry
