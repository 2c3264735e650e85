# syntax=docker/dockerfile:1
# One image with both binaries; the entrypoint is the extender, and each Deployment names its
# binary with `command`.
#   docker build --build-arg VERSION=v0.1.0 -t rktsched:v0.1.0 .     (or: make image)
# Builds on the build machine's platform and cross-compiles for the target's (buildx
# --platform linux/amd64,linux/arm64 works without emulation).

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# The same flags as the Makefile's build target: static, trimmed, version stamped in.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X github.com/rktsched/rktsched/version.Version=$VERSION" \
      -o /out/ ./cmd/rktsched-extender ./cmd/rktsched-labeler

FROM gcr.io/distroless/static:nonroot
COPY --from=build /out/rktsched-extender /out/rktsched-labeler /
USER 65532:65532
ENTRYPOINT ["/rktsched-extender"]
