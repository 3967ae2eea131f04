# enrolldesk: the two commands a new user needs are `make demo` and `make test`; both run `setup` first.
SHELL := /bin/bash
GO ?= go
GOBIN := $(shell $(GO) env GOPATH)/bin
export PATH := $(GOBIN):$(PATH)
# A warm, shared build cache: the cgo builds of dlib and OpenCV take minutes cold.
export GOFLAGS ?= -buildvcs=false

.PHONY: setup demo test test-go test-frontend lint build bench models package frontend clean

setup:
	build/setup

frontend:
	cd frontend && npm run build

# The window (repository root) is enrolldesk-gui; cmd/enrolldesk is the headless CLI.
build: frontend
	mkdir -p build/bin
	$(GO) build -tags desktop,production -o build/bin/enrolldesk-gui .
	$(GO) build -o build/bin/ ./cmd/...

demo: setup build
	build/demo

lint:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	staticcheck ./...

test-go:
	$(GO) test -race -count=1 -timeout 30m ./...

test-frontend:
	cd frontend && npm run typecheck && npm run test:unit && npm run test:e2e

# Everything: lint, every Go test under the race detector, the frontend's unit and browser suites.
test: setup frontend lint test-go test-frontend

# Benchmarks named in ../shared/DESIGN.md with their budgets; writes bench/latest.txt. Not part of CI.
bench: setup
	build/bench

# For deployments with internet: fetch the official dlib models and check their sha256.
models:
	$(GO) run ./cmd/models download -dir models

package: build
	build/package

clean:
	rm -rf build/bin frontend/dist/*
