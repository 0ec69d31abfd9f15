# syntax=docker/dockerfile:1.7
# vpsie-autoscaler: the scaler, the pulumi CLI and its Node.js plugins, on distroless Node.js 24.
#
#   docker buildx build --platform linux/amd64,linux/arm64 \
#     --build-arg VERSION=0.1.0 --build-arg COMMIT=$(git rev-parse --short=12 HEAD) \
#     --build-arg BUILD_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) -t IMAGE:TAG --push .
#
# The build stages run on the build platform and cross-compile or copy for the target: no emulation.
# PULUMI_VERSION must equal the @pulumi/pulumi of package-lock.json and the pulumi/pkg/v3 of
# provider/pulumi/engine/go.mod (a test checks it): the Automation API and the engine speak one protocol version.
ARG NODE_VERSION=24.21.0
ARG GO_VERSION=1.26.8
ARG PULUMI_VERSION=3.259.0

# The TypeScript build of the product only (tsconfig.build.json: provider/, stacks/, scaler/); the
# development code in dev/ is not copied. Every dependency is plain JavaScript (no native addons), so
# node_modules built here serves both architectures.
FROM --platform=$BUILDPLATFORM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json Pulumi.yaml ./
COPY scripts/ scripts/
COPY bin/ bin/
COPY provider/ provider/
COPY stacks/ stacks/
COPY scaler/ scaler/
ARG VERSION=dev
ARG COMMIT=unknown
ARG BUILD_DATE=unknown
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json \
 && VERSION="$VERSION" COMMIT="$COMMIT" BUILD_DATE="$BUILD_DATE" node scripts/write-build-info.js \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# The pulumi CLI and the Node.js plugin launcher, from Go modules, for the target architecture.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS pulumi
ARG TARGETOS
ARG TARGETARCH
ARG PULUMI_VERSION
ENV GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=0
WORKDIR /src/provider/pulumi/engine
# No `go mod download`: it would fetch every module go.mod lists, and some of those versions are not
# served by every module proxy; the build fetches only what it compiles (into the cache mount).
COPY provider/pulumi/engine/ ./
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -trimpath \
      -tags osusergo,grpcnotrace \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v${PULUMI_VERSION}" \
      -o /out/ github.com/pulumi/pulumi/pkg/v3/cmd/pulumi ./nodeplugin \
 && echo "v${PULUMI_VERSION}" > /out/pulumi.version

# The runtime: no shell, no package manager; user 65532 (distroless "nonroot"); read-only root
# filesystem in the Deployment, with the work and project directories and /tmp on volumes.
FROM gcr.io/distroless/nodejs24-debian13:nonroot
ARG VERSION=dev
ARG COMMIT=unknown
ARG BUILD_DATE=unknown
LABEL org.opencontainers.image.title="vpsie-autoscaler" \
      org.opencontainers.image.description="Kubernetes node autoscaler for VPSie: every scale action is a Pulumi update" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.created="${BUILD_DATE}"
WORKDIR /app
COPY --from=build /src/package.json /src/Pulumi.yaml ./
COPY --from=build /src/bin/ bin/
COPY --from=build /src/dist/ dist/
COPY --from=build /src/node_modules/ node_modules/
# The layout `npm run tools` makes in its cache: the CLI, and each plugin as the launcher plus its script.
COPY --from=pulumi /out/pulumi /app/pulumi/bin/pulumi
COPY --from=pulumi /out/pulumi.version /app/pulumi/bin/pulumi.version
COPY --from=pulumi /out/nodeplugin /app/pulumi/bin/pulumi-language-nodejs
COPY --from=pulumi /out/nodeplugin /app/pulumi/bin/pulumi-resource-pulumi-nodejs
COPY --from=build /src/dist/provider/pulumi/plugins/languageHost.js /app/pulumi/bin/pulumi-language-nodejs.mjs
COPY --from=build /src/dist/provider/pulumi/plugins/dynamicProviderHost.js /app/pulumi/bin/pulumi-resource-pulumi-nodejs.mjs
# A small young generation for the scaler's Node.js process: a lower peak for every update, measured
# with these options (npm run bench).
# USER: pulumi (built without cgo) names the stack's lock holder from /etc/passwd, else from $USER; this
# also serves a runAsUser that the image's passwd does not list.
ENV PATH=/app/pulumi/bin:/nodejs/bin:/usr/local/bin:/usr/bin:/bin \
    USER=nonroot \
    NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=2 \
    VPSIE_AUTOSCALER_WORK_DIR=/var/lib/vpsie-autoscaler/work \
    PULUMI_SKIP_UPDATE_CHECK=true \
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
USER 65532:65532
EXPOSE 8085
ENTRYPOINT ["/nodejs/bin/node", "/app/bin/vpsie-autoscaler.js"]
CMD ["run", "--project-dir=/var/lib/vpsie-autoscaler/project"]
