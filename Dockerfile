# syntax=docker/dockerfile:1
# For Docker users: the image `make image` builds with ko (no Docker engine needed), built the
# same way: every binary under /ko-app/ with the Makefile's flags, entrypoint the extender, user
# 65532, the same OCI labels; each Deployment names its binary with `command`.
#   docker build --build-arg VERSION=v0.1.0 --build-arg REVISION=$(git rev-parse HEAD) \
#     -t rktsched.io/rktsched:v0.1.0 .                                  (or: make image-docker)
# Builds on the build machine's platform and cross-compiles for the target's (buildx
# --platform linux/amd64,linux/arm64 works without emulation). The base differs: distroless
# static (CA certificates, /etc/passwd) here, the build's own empty base in `make image`.

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# The same flags as the Makefile's build and image targets: static, trimmed, version stamped in.
# The CLI is built too where the source tree has it.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X github.com/rktsched/rktsched/version.Version=$VERSION" \
      -o /out/ ./cmd/rktsched-extender ./cmd/rktsched-labeler \
      $(test -d cmd/kubectl-rktsched && echo ./cmd/kubectl-rktsched)

FROM gcr.io/distroless/static:nonroot
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.source=https://github.com/rktsched/rktsched \
      org.opencontainers.image.version=$VERSION \
      org.opencontainers.image.revision=$REVISION \
      org.opencontainers.image.title=rktsched
COPY --from=build /out/ /ko-app/
ENV PATH=/ko-app:/usr/local/bin:/usr/bin:/bin
USER 65532:65532
ENTRYPOINT ["/ko-app/rktsched-extender"]
