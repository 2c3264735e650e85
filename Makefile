# rktsched — `make help` lists the targets.
SHELL := /usr/bin/env bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# The same flags as the Dockerfile: static binaries, version stamped in.
LDFLAGS := -s -w -X github.com/rktsched/rktsched/version.Version=$(VERSION)
GOBUILD := CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)"
BIN := bin
BINARIES := rktsched-extender rktsched-labeler

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: $(BIN)/rktsched-scheduler ## Build the binaries into bin/ (CGO_ENABLED=0, version stamped).
	@mkdir -p $(BIN)
	@for b in $(BINARIES); do \
		if [ -d cmd/$$b ]; then $(GOBUILD) -o $(BIN)/$$b ./cmd/$$b || exit 1; fi; \
	done

# rktsched-scheduler is kube-scheduler with the Rktsched plugin, from its own module
# (scheduler/, which requires k8s.io/kubernetes; the main module does not). Stamped with the
# Kubernetes version it is built from, as test/cluster/build.sh stamps kube-scheduler
# (unstamped it reports v0.0.0). The same flags for build, vet and test keep one build cache:
# the first build compiles most of Kubernetes (minutes), later ones only what changed.
include test/cluster/versions.env
SCHED_GO := cd scheduler && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-trimpath $(GO)
SCHED_LDFLAGS := -s -w -X k8s.io/component-base/version.gitVersion=$(KUBE_VERSION) \
	-X k8s.io/component-base/version.gitMajor=1 \
	-X k8s.io/component-base/version.gitMinor=$(word 2,$(subst ., ,$(KUBE_VERSION)))
SCHED_SOURCES := $(shell git ls-files -co --exclude-standard '*.go' go.mod go.sum scheduler/go.mod scheduler/go.sum 2>/dev/null | grep -v -e '_test\.go$$' -e '^test/')

$(BIN)/rktsched-scheduler: $(SCHED_SOURCES) test/cluster/versions.env
	@mkdir -p $(BIN)
	$(SCHED_GO) build -ldflags "$(SCHED_LDFLAGS)" -o $(abspath $(BIN))/rktsched-scheduler ./cmd/rktsched-scheduler

.PHONY: test
test: lint unit e2e ## Run everything CI runs: lint, unit tests with -race, e2e.

.PHONY: unit
unit: unit-scheduler ## Unit tests with the race detector.
	$(GO) test -race -count=1 ./...

# Without -race: with it, the scheduler module would compile Kubernetes a second time.
.PHONY: unit-scheduler
unit-scheduler: ## Unit tests of the scheduler plugin module (scheduler/).
	$(SCHED_GO) test -count=1 ./...

.PHONY: e2e
e2e: build ## End-to-end tests on a local control plane (its first build takes ~10 min, cached after).
	RKTSCHED_BIN=$(CURDIR)/$(BIN) $(GO) test -tags e2e -count=1 -timeout 30m -v ./test/e2e/... ./test/reliability/...

KEEP ?=
.PHONY: demo
demo: build ## A local mixed Docker/rkt cluster running rktsched; shows where pods go (KEEP=1 keeps it up).
	RKTSCHED_BIN=$(CURDIR)/$(BIN) KEEP=$(KEEP) $(GO) run ./test/demo

IMAGE ?= rktsched:$(VERSION)
.PHONY: image
image: ## Build the container image IMAGE with docker (needs a Docker engine: fails where there is none).
	docker build --build-arg VERSION=$(VERSION) -t $(IMAGE) .

.PHONY: lint
lint: $(BIN)/golangci-lint ## gofmt, go vet and golangci-lint (pinned in tools/go.mod).
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(SCHED_GO) vet ./...
	$(BIN)/golangci-lint run ./...

$(BIN)/golangci-lint: tools/go.mod tools/go.sum
	$(GO) build -C tools -o ../$(BIN)/golangci-lint github.com/golangci/golangci-lint/v2/cmd/golangci-lint

FUZZTIME ?= 30s
.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 30s); not part of `make test`.
	@set -o pipefail; for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; \
			$(GO) test $$pkg -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) 2>&1 | tail -n 3 || exit 1; \
		done; \
	done

.PHONY: bench
bench: ## Go benchmarks of the extender vs the naive JSON floor; prints RATIO lines
	@mkdir -p $(BIN)
	@set -o pipefail; $(GO) test ./extender/ -run '^$$' -bench . -benchmem -benchtime 1s \
		| tee $(BIN)/bench.txt | $(GO) run ./extender/internal/benchratio
	@echo "(full benchmark output: $(BIN)/bench.txt)"

BENCH_E2E_FLAGS ?=
.PHONY: bench-e2e
bench-e2e: build ## kube-scheduler throughput with/without the extender on 1000 nodes, labeler writes, extender RSS (~10 min); prints RATIO lines
	RKTSCHED_BIN=$(CURDIR)/$(BIN) $(GO) run ./test/bench $(BENCH_E2E_FLAGS)

.PHONY: clean
clean: ## Remove build output.
	rm -rf $(BIN)
