# syntax=docker/dockerfile:1

# callbridge image: a static binary on distroless, non-root, read-only-root friendly.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) \
#                --build-arg COMMIT=$(git rev-parse HEAD) -t callbridge .
#   docker run --rm --read-only -p 8080:8080 -e CALLBRIDGE_KAFKA_BROKERS=kafka:9092 callbridge
#
# Multi-arch: docker buildx build --platform linux/amd64,linux/arm64 ... (the Go compiler
# cross-compiles on the build platform; nothing runs under emulation).

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
ARG COMMIT=unknown
WORKDIR /src

# Module downloads first, so they stay cached while only sources change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
# CGO off: a static binary for distroless/static. timetzdata embeds the time zone database,
# since accounts name vendor time zones (Asia/Shanghai) and the base image has none.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -tags timetzdata \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/callbridge ./cmd/callbridge

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="callbridge" \
      org.opencontainers.image.description="Bridges AI outbound-calling platforms (Yiwise, BYAI) with Apache Kafka" \
      org.opencontainers.image.source="https://github.com/callbridge/callbridge" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"
COPY --from=build /out/callbridge /callbridge
# distroless "nonroot" (65532); numeric so runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8080
# Nothing is written to the root filesystem: run it with --read-only / readOnlyRootFilesystem.
ENTRYPOINT ["/callbridge"]
CMD ["serve"]
