# rktsched — `make help` lists the targets.
SHELL := /usr/bin/env bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# One set of build flags for every go command here but the -race pass (vet, test, build, the
# scheduler module, ko, helm, test/cluster/build.sh): Go's build cache is keyed by them, so
# client-go and Kubernetes are compiled once for all, not once per flag set. Static binaries,
# as the Dockerfile builds them.
export CGO_ENABLED := 0
export GOTOOLCHAIN := local
export GOFLAGS := $(strip $(filter-out -trimpath,$(shell $(GO) env GOFLAGS)) -trimpath)
# The same flags as the Dockerfile: version stamped in.
LDFLAGS := -s -w -X github.com/rktsched/rktsched/version.Version=$(VERSION)
GOBUILD := $(GO) build -ldflags "$(LDFLAGS)"
BIN := bin
BINARIES := rktsched-extender rktsched-labeler kubectl-rktsched

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
# (unstamped it reports v0.0.0). With the flags above, build, vet and test share the control
# plane's build cache: the first build compiles most of Kubernetes (minutes), later ones only
# what changed.
include test/cluster/versions.env
SCHED_GO := cd scheduler && $(GO)
SCHED_LDFLAGS := -s -w -X k8s.io/component-base/version.gitVersion=$(KUBE_VERSION) \
	-X k8s.io/component-base/version.gitMajor=1 \
	-X k8s.io/component-base/version.gitMinor=$(word 2,$(subst ., ,$(KUBE_VERSION)))
# What the main module's binaries are built from (policy embeds default.yaml); the scheduler
# module adds its own.
MAIN_SOURCES := $(shell git ls-files -co --exclude-standard '*.go' go.mod go.sum policy/default.yaml 2>/dev/null | grep -v -e '_test\.go$$' -e '^test/' -e '^scheduler/' -e '^tools/')
SCHED_SOURCES := $(MAIN_SOURCES) $(shell git ls-files -co --exclude-standard 'scheduler/*.go' scheduler/go.mod scheduler/go.sum 2>/dev/null | grep -v '_test\.go$$')

$(BIN)/rktsched-scheduler: $(SCHED_SOURCES) test/cluster/versions.env
	@mkdir -p $(BIN)
	$(SCHED_GO) build -ldflags "$(SCHED_LDFLAGS)" -o $(abspath $(BIN))/rktsched-scheduler ./cmd/rktsched-scheduler

.PHONY: test
test: prebuild lint unit chart dist-check e2e image-check ## Run everything CI runs: lint, unit tests (and -race), chart checks, the release archives, e2e, the image.
# The image for this machine's platform, the one its real node runs: the arm64 half is a cross
# build of client-go and the standard library, about 4 of a cold run's minutes. `make image`
# builds both; `make test IMAGE_PLATFORMS=linux/amd64,linux/arm64` tests both.
test: export IMAGE_PLATFORMS = linux/$(shell $(GO) env GOARCH)
# Likewise the release archives: make test builds and checks the machine's platform (the five
# cross builds are ~30 CPU-minutes cold); `make dist-check` alone checks all six.
test: export DIST_PLATFORMS = linux/$(shell $(GO) env GOARCH)

# What a cold `make test` compiles, built in two chains at a time before anything runs, so
# that each fills the core the other leaves idle (serial tails, links) and the steps after find
# everything built. client-go is compiled once for the control plane, helm and the image's
# amd64 half (`make versions`), so they run one after another: side by side, each would
# compile it again before the other had cached it. The other chain shares nothing with them:
# golangci-lint, the -race build, then `make dist`'s cross builds (darwin, windows, arm64).
# ko and imagetool, which the image needs, come first.
.PHONY: prebuild prebuild-kube prebuild-tools
prebuild:
	@$(MAKE) --no-print-directory -j2 prebuild-kube prebuild-tools
prebuild-kube: control-plane $(BIN)/ko $(BIN)/imagetool
	@$(MAKE) --no-print-directory $(BIN)/helm image
prebuild-tools:
	@$(MAKE) --no-print-directory real-node-runtime $(BIN)/golangci-lint race-build dist

.PHONY: control-plane
control-plane: ## Build the pinned etcd and Kubernetes binaries the e2e runs (test/cluster/build.sh; ~10 min once, cached).
	@test/cluster/build.sh >/dev/null

# The real node's containerd and runc (~2 min once, cached). runc's build needs libseccomp's
# header: on a host without it the real-node tests skip (or fail in CI) and say so.
.PHONY: real-node-runtime
real-node-runtime: ## Build the real node's pinned containerd and runc (test/cluster/build.sh --runtime).
	@if [ -f /usr/include/seccomp.h ]; then test/cluster/build.sh --runtime >/dev/null; fi

.PHONY: race-build
race-build:
	CGO_ENABLED=1 $(GO) test -race -count=1 -run '^$$' $(RACE_PKGS) >/dev/null

# The race detector runs where goroutines share state: the extender's handlers and caches, the
# labeler's workers, the policy store and its watchers. Its build compiles client-go a second
# time (cgo, instrumented), and each race test binary links slowly, so it covers those packages;
# every package runs once without it, the allocation tests -race skips included.
RACE_PKGS := ./extender/... ./labeler/... ./policy/... ./policysource/...
.PHONY: unit
unit: $(BIN)/helm unit-scheduler ## Unit tests, then the race detector on the packages with goroutines (RACE_PKGS).
	RKTSCHED_HELM=$(CURDIR)/$(BIN)/helm $(GO) test -count=1 ./...
	CGO_ENABLED=1 $(GO) test -race -count=1 $(RACE_PKGS)

# Without -race: with it, the scheduler module would compile Kubernetes a second time.
.PHONY: unit-scheduler
unit-scheduler: ## Unit tests of the scheduler plugin module (scheduler/).
	$(SCHED_GO) test -count=1 ./...

.PHONY: e2e
e2e: build $(BIN)/helm image image-scheduler e2e-images ## End-to-end tests on a local control plane and one real node (the first build takes ~15 min, cached after).
	RKTSCHED_BIN=$(CURDIR)/$(BIN) RKTSCHED_HELM=$(CURDIR)/$(BIN)/helm RKTSCHED_IMAGES=$(CURDIR)/$(BIN) $(GO) test -tags e2e -count=1 -timeout 30m -v ./test/e2e/... ./test/reliability/... ./test/manifests/...

KEEP ?=
.PHONY: demo
demo: build ## A local mixed Docker/rkt cluster running rktsched; shows where pods go (KEEP=1 keeps it up).
	RKTSCHED_BIN=$(CURDIR)/$(BIN) KEEP=$(KEEP) $(GO) run ./test/demo

# The image, built by ko without a Docker engine or a registry (tools/image/go.mod pins ko).
# bin/image/ is an OCI image layout: index.json lists one multi-arch image index named
# $(IMAGE) (annotations org.opencontainers.image.ref.name and io.containerd.image.name), one
# image per platform of IMAGE_PLATFORMS. bin/image.tar is the same layout as a tarball, for
# `ctr -n k8s.io images import bin/image.tar`. bin/sbom/ holds ko's SPDX SBOMs. The image holds
# every binary under /ko-app/ (entrypoint /ko-app/rktsched-extender, user 65532); the
# Deployments name theirs with `command`. Nothing is loaded or pushed unless IMAGE_PUSH=<ref>.
# The base is an empty one the build makes itself (imagetool base, seeded into KOCACHE and
# pinned by digest); with network, IMAGE_BASE=gcr.io/distroless/static:nonroot works too.
IMAGE_REPO ?= rktsched.io/rktsched
IMAGE ?= $(IMAGE_REPO):$(VERSION)
IMAGE_PLATFORMS ?= linux/amd64,linux/arm64
IMAGE_BASE ?=
IMAGE_PUSH ?=
IMAGE_SOURCE ?= https://github.com/rktsched/rktsched
# The last one is the entrypoint; each builds on the image of the one before.
IMAGE_BINARIES = rktsched-labeler $(if $(wildcard cmd/kubectl-rktsched),kubectl-rktsched) rktsched-extender
REVISION := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
.PHONY: image
image: $(BIN)/image/index.json ## OCI layout bin/image/ (index.json: one linux/amd64+arm64 index named IMAGE and IMAGE_REPO:latest), bin/image.tar for `ctr images import`, bin/sbom/; IMAGE_PUSH=<ref> pushes

# Built again when a source or a setting of the image changed (make test asks for it twice),
# and always when IMAGE_PUSH asks for a push.
IMAGE_SETTINGS := $(IMAGE) $(IMAGE_PLATFORMS) $(IMAGE_BASE) $(IMAGE_SOURCE) $(REVISION) $(SOURCE_DATE_EPOCH) $(LDFLAGS)
$(BIN)/image.settings: FORCE
	@mkdir -p $(BIN); echo '$(IMAGE_SETTINGS)' | cmp -s - $@ || echo '$(IMAGE_SETTINGS)' >$@
.PHONY: FORCE
FORCE:

$(BIN)/image/index.json: $(MAIN_SOURCES) $(BIN)/image.settings $(BIN)/ko $(BIN)/imagetool $(if $(IMAGE_PUSH),FORCE)
	@set -euo pipefail; rm -rf $(BIN)/image-build $(BIN)/sbom; mkdir -p $(BIN)/image-build; \
	export KOCACHE=$(CURDIR)/$(BIN)/kocache SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) KO_DOCKER_REPO=$(IMAGE_REPO); \
	base='$(IMAGE_BASE)'; if [ -z "$$base" ]; then base=$$($(BIN)/imagetool base -cache "$$KOCACHE" -platforms $(IMAGE_PLATFORMS)); fi; \
	for b in $(IMAGE_BINARIES); do \
		echo "== $$b on $$base"; \
		KO_DEFAULTBASEIMAGE=$$base $(BIN)/ko build ./cmd/$$b --push=false --oci-layout-path=$(BIN)/image-build/$$b \
			--platform=$(IMAGE_PLATFORMS) --ldflags='$(LDFLAGS)' --image-user=65532:65532 \
			--sbom=spdx --sbom-dir=$(BIN)/sbom \
			--image-label=org.opencontainers.image.source=$(IMAGE_SOURCE) \
			--image-label=org.opencontainers.image.version=$(VERSION) \
			--image-label=org.opencontainers.image.revision=$(REVISION) \
			--image-label=org.opencontainers.image.title=rktsched >/dev/null; \
		base=$$($(BIN)/imagetool cache -cache "$$KOCACHE" -from $(BIN)/image-build/$$b); \
	done; \
	$(BIN)/imagetool final -from $(BIN)/image-build/rktsched-extender -out $(BIN)/image -name $(IMAGE),$(IMAGE_REPO):latest -tar $(BIN)/image.tar $(if $(IMAGE_PUSH),-push $(IMAGE_PUSH))

# rktsched-scheduler's image (manifests/second-scheduler): kube-scheduler with the plugin, built
# by ko from scheduler/ as `make image` builds the main image, for IMAGE_SCHEDULER_PLATFORMS
# (default: this machine's; each other platform is a cold cross build of Kubernetes).
# bin/image-scheduler/ is its OCI layout, bin/image-scheduler.tar the same for `ctr images import`.
IMAGE_SCHEDULER_REPO ?= rktsched.io/rktsched-scheduler
IMAGE_SCHEDULER_PLATFORMS ?= linux/$(shell $(GO) env GOARCH)
.PHONY: image-scheduler
image-scheduler: $(BIN)/ko $(BIN)/imagetool ## rktsched-scheduler's image: bin/image-scheduler/ and .tar, IMAGE_SCHEDULER_REPO:VERSION and :latest
	@set -euo pipefail; rm -rf $(BIN)/image-scheduler-build; \
	export KOCACHE=$(CURDIR)/$(BIN)/kocache SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) KO_DOCKER_REPO=$(IMAGE_SCHEDULER_REPO); \
	base=$$($(BIN)/imagetool base -cache "$$KOCACHE" -platforms $(IMAGE_SCHEDULER_PLATFORMS)); \
	cd scheduler && KO_DEFAULTBASEIMAGE=$$base $(CURDIR)/$(BIN)/ko build ./cmd/rktsched-scheduler \
		--push=false --oci-layout-path=$(CURDIR)/$(BIN)/image-scheduler-build --platform=$(IMAGE_SCHEDULER_PLATFORMS) \
		--ldflags='$(SCHED_LDFLAGS)' --image-user=65532:65532 --sbom=none \
		--image-label=org.opencontainers.image.source=$(IMAGE_SOURCE) \
		--image-label=org.opencontainers.image.version=$(VERSION) \
		--image-label=org.opencontainers.image.revision=$(REVISION) \
		--image-label=org.opencontainers.image.title=rktsched-scheduler >/dev/null; \
	cd $(CURDIR) && $(BIN)/imagetool final -from $(BIN)/image-scheduler-build -out $(BIN)/image-scheduler \
		-name $(IMAGE_SCHEDULER_REPO):$(VERSION),$(IMAGE_SCHEDULER_REPO):latest -tar $(BIN)/image-scheduler.tar

# Images only the e2e's real node runs, for this machine's platform, built as `make image`
# builds its image (ko on the same empty base), under bin/e2e-images/ (<name>.tar for
# `ctr images import`): the pod sandbox ("pause") image, which containerd cannot pull here,
# readfiles (prints files, for pods whose checks read a file inside a container), and kube-scheduler (v$(KUBE_VERSION), from the control plane's scratch module and build
# cache, running as root as upstream's does) for the kubeadm-style static pod of the sidecar mode.
E2E_PLATFORM := linux/$(shell $(GO) env GOARCH)
E2E_IMAGE_REPO := rktsched.invalid
.PHONY: e2e-images
e2e-images: $(BIN)/ko $(BIN)/imagetool ## Images only the e2e's real node runs: pod sandbox, readfiles, kube-scheduler (bin/e2e-images/).
	@set -euo pipefail; out=$(CURDIR)/$(BIN)/e2e-images; rm -rf $$out; mkdir -p $$out; \
	export KOCACHE=$(CURDIR)/$(BIN)/kocache SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) KO_DOCKER_REPO=$(E2E_IMAGE_REPO); \
	base=$$($(BIN)/imagetool base -cache "$$KOCACHE" -platforms $(E2E_PLATFORM)); \
	ko() { KO_DEFAULTBASEIMAGE=$$base $(CURDIR)/$(BIN)/ko build --push=false --platform=$(E2E_PLATFORM) --sbom=none "$$@" >/dev/null; }; \
	final() { $(CURDIR)/$(BIN)/imagetool final -from $$out/$$1-build -out $$out/$$1 -name $(E2E_IMAGE_REPO)/$$1:$$2 -tar $$out/$$1.tar; }; \
	ko ./test/cluster/pause --oci-layout-path=$$out/pause-build --ldflags='-s -w'; final pause e2e; \
	ko ./test/cluster/readfiles --oci-layout-path=$$out/readfiles-build --ldflags='-s -w'; final readfiles e2e; \
	test/cluster/build.sh >/dev/null; kube=$$(test/cluster/build.sh --module-dir); \
	(cd $$kube && GOFLAGS="$$GOFLAGS -mod=mod" ko k8s.io/kubernetes/cmd/kube-scheduler --oci-layout-path=$$out/kube-scheduler-build \
		--ldflags='$(SCHED_LDFLAGS)' --image-user=0:0); \
	final kube-scheduler $(KUBE_VERSION)

# ko has a module of its own (tools/image/go.mod): its dependencies (viper 1.21, ...) would
# otherwise raise golangci-lint's in tools/go.mod.
$(BIN)/ko: tools/image/go.mod tools/image/go.sum
	$(GO) build -C tools/image -o ../../$(BIN)/ko github.com/google/ko

$(BIN)/imagetool: tools/image/go.mod tools/image/go.sum $(wildcard tools/image/imagetool/*.go)
	$(GO) build -C tools/image -o ../../$(BIN)/imagetool ./imagetool

.PHONY: image-check
image-check: image ## Read bin/image/ back: index, IMAGE_PLATFORMS' manifests, config (user, entrypoint, labels), static binaries run with --version.
	RKTSCHED_IMAGE_PLATFORMS=$(IMAGE_PLATFORMS) $(GO) test -tags image -count=1 ./test/image/

.PHONY: chart
chart: $(BIN)/helm ## helm lint --strict and helm template of charts/rktsched (helm pinned in tools/helm/go.mod).
	$(BIN)/helm lint --strict charts/rktsched
	$(BIN)/helm lint --strict charts/rktsched --set extender.mode=sidecar --set networkPolicy.enabled=true
	$(BIN)/helm lint --strict charts/rktsched --set scheduler.enabled=true --set extender.enabled=false
	$(BIN)/helm template rktsched charts/rktsched --namespace rktsched-system >/dev/null

# helm has a module of its own (tools/helm/go.mod): with golangci-lint's in one module the
# two resolve an ambiguous genproto import.
$(BIN)/helm: tools/helm/go.mod tools/helm/go.sum
	$(GO) build -C tools/helm -o ../../$(BIN)/helm helm.sh/helm/v4/cmd/helm

# kubectl-rktsched's release, for krew: per DIST_PLATFORMS an archive of the binary (built as
# `build` builds it: CGO_ENABLED=0, -trimpath, version stamped) and README.md, packed
# reproducibly by tools/dist/distpack (entries sorted, owner 0, every mtime SOURCE_DATE_EPOCH,
# no gzip timestamp); checksums.txt; and the krew manifest rendered from
# plugins/rktsched.yaml.tmpl with the checksums, which krew's validate-krew-manifest must accept.
DIST := $(BIN)/dist
DIST_PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64
DIST_URL ?= $(IMAGE_SOURCE)/releases/download/$(VERSION)
.PHONY: dist
dist: $(BIN)/distpack $(BIN)/validate-krew-manifest ## kubectl-rktsched release in bin/dist/: an archive per DIST_PLATFORMS, checksums.txt, krew's plugins/rktsched.yaml
	@set -euo pipefail; rm -rf $(DIST); \
	for p in $(DIST_PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; exe=; if [ $$os = windows ]; then exe=.exe; fi; \
		GOOS=$$os GOARCH=$$arch $(GOBUILD) -o $(BIN)/dist-build/$${os}_$$arch/kubectl-rktsched$$exe ./cmd/kubectl-rktsched; \
	done; \
	$(BIN)/distpack -version $(VERSION) -epoch $(SOURCE_DATE_EPOCH) -url $(DIST_URL) -readme README.md \
		-template plugins/rktsched.yaml.tmpl -build $(BIN)/dist-build -out $(DIST) $(DIST_PLATFORMS) >/dev/null; \
	out=$$($(BIN)/validate-krew-manifest -manifest $(DIST)/plugins/rktsched.yaml -skip-install 2>&1) || { echo "$$out"; exit 1; }; \
	echo "$(DIST): $$(ls $(DIST) | grep -c 'tar.gz$$') archives, checksums.txt, plugins/rktsched.yaml (validate-krew-manifest: ok)"

.PHONY: dist-check
dist-check: dist $(BIN)/krew ## Read bin/dist/ back: checksums, archive entries, binaries' platform and stamp, krew's validation, krew install of each archive.
	$(GO) test -C tools/dist -count=1 ./distpack/
	RKTSCHED_DIST=$(CURDIR)/$(DIST) RKTSCHED_BIN=$(CURDIR)/$(BIN) RKTSCHED_VERSION=$(VERSION) SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) \
		RKTSCHED_DIST_PLATFORMS='$(DIST_PLATFORMS)' $(GO) test -tags dist -count=1 ./test/dist/

# krew and its manifest validator (sigs.k8s.io/krew) have a module of their own, tools/dist/go.mod
# (their dependencies are years older than everything else's), with distpack beside them.
$(BIN)/krew $(BIN)/validate-krew-manifest: tools/dist/go.mod tools/dist/go.sum
	$(GO) build -C tools/dist -o ../../$@ sigs.k8s.io/krew/cmd/$(notdir $@)

$(BIN)/distpack: tools/dist/go.mod $(filter-out %_test.go,$(wildcard tools/dist/distpack/*.go))
	$(GO) build -C tools/dist -o ../../$@ ./distpack

.PHONY: image-docker
image-docker: ## The same image with a Docker engine (the Dockerfile): IMAGE, for the build machine's platform.
	docker build --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) -t $(IMAGE) .

.PHONY: lint
lint: $(BIN)/golangci-lint versions ## gofmt, go vet, golangci-lint (pinned in tools/go.mod) and make versions.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(SCHED_GO) vet ./...
	$(BIN)/golangci-lint run ./...

# client-go and what it imports compile once for every module that builds it (the main module,
# scheduler/, tools/helm, the control plane's scratch module) only while they resolve them to the
# same versions: one more version set is another ~3 minutes of a cold make test.
# test/cluster/versions.env's KUBE_RAISE is where they are aligned.
VERSIONS_PKGS := k8s.io/client-go/kubernetes k8s.io/client-go/tools/clientcmd k8s.io/client-go/dynamic
.PHONY: versions
versions: ## Check that every module building client-go resolves it and its dependencies to one version set.
	@set -euo pipefail; list() { $(GO) list -deps -f '{{with .Module}}{{.Path}} {{.Version}}{{end}}' $(VERSIONS_PKGS) | sort -u; }; \
	want=$$(list); kube=$$(test/cluster/build.sh --module-dir); \
	for d in scheduler tools/helm $$kube; do \
		if [ ! -d $$d ]; then echo "versions: $$d not made yet (make control-plane), not checked"; continue; fi; \
		got=$$(cd $$d && list); \
		if [ "$$got" != "$$want" ]; then \
			echo "versions: $$d resolves client-go's dependencies unlike the main module (< main, > $$d):"; \
			diff <(echo "$$want") <(echo "$$got") | grep '^[<>]'; exit 1; \
		fi; \
	done

$(BIN)/golangci-lint: tools/go.mod tools/go.sum
	$(GO) build -C tools -o ../$(BIN)/golangci-lint github.com/golangci/golangci-lint/v2/cmd/golangci-lint

FUZZTIME ?= 30s
.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 30s); fails if one ran < FUZZ_MIN_EXECS (1000).
	GO=$(GO) FUZZTIME=$(FUZZTIME) test/fuzz/run.sh

.PHONY: bench
bench: ## Go benchmarks of the extender vs the naive JSON floor; prints RATIO lines
	@mkdir -p $(BIN)
	@set -o pipefail; $(GO) test ./extender/ -run '^$$' -bench . -benchmem -benchtime 1s \
		| tee $(BIN)/bench.txt | $(GO) run ./extender/internal/benchratio
	@echo "(full benchmark output: $(BIN)/bench.txt)"

.PHONY: bench-path
bench-path: ## names mode per pod, rktsched vs an extender deciding nothing: kube-scheduler's client + ours, each side alone (~2 min); RATIO lines
	@mkdir -p $(BIN)
	@set -o pipefail; cd scheduler && $(GO) test ./extenderpath/ -run '^$$' -bench . -count 5 \
		| tee ../$(BIN)/bench-path.txt | $(GO) run -C .. ./extender/internal/benchratio -ours rktsched -base noop -unit cpu-ns/pod
	@echo "(full benchmark output: $(BIN)/bench-path.txt)"

BENCH_E2E_FLAGS ?=
.PHONY: bench-e2e
bench-e2e: build ## kube-scheduler throughput with/without the extender on 1000 nodes, labeler writes, extender RSS (~10 min); prints RATIO lines
	RKTSCHED_BIN=$(CURDIR)/$(BIN) $(GO) run ./test/bench $(BENCH_E2E_FLAGS)

# Not part of make test: the sweep takes most of an hour on 2 cores.
BENCH_SCALE_FLAGS ?=
.PHONY: bench-scale
bench-scale: build ## bench-e2e at 1000, 2500 and 5000 nodes (pods = nodes, ~45 min): RATIO <size> lines, CPU/pod growth, profiles in bin/bench-scale
	@mkdir -p $(BIN)/bench-scale
	RKTSCHED_BIN=$(CURDIR)/$(BIN) $(GO) run ./test/bench -nodes 1000,2500,5000 -modes none,affinity,plugin,noop,answers,names \
		-rounds 2 -heartbeats 1m -rss-nodes 5000 -profile-dir $(CURDIR)/$(BIN)/bench-scale -profile-time 10s $(BENCH_SCALE_FLAGS)

.PHONY: clean
clean: ## Remove build output.
	rm -rf $(BIN)
