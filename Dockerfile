# certguard image, for amd64 and arm64: built on Debian bookworm with the same
# dependency script and build commands as CI (hack/install-deps.sh,
# hack/build-release.sh), run from a slim stage holding only the shared libraries
# the binary needs (hack/runtime-packages.txt, checked against the binary by CI).
#
#   docker build -t certguard:dev .
#   docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/certguard:TAG --push .
#
# The build stage runs on the build machine's platform: for another target
# architecture (arm64 from amd64) it cross-compiles with Debian's multiarch
# packages (`install-deps.sh --arm64`, `build-release.sh --arch arm64`); nothing is
# compiled under emulation. Only the runtime stage's apt-get runs on the target
# platform, so a multi-platform build needs the builder's qemu binfmt handlers, as any
# RUN in a foreign-platform stage does.
FROM --platform=$BUILDPLATFORM debian:bookworm AS build
ARG TARGETARCH
ARG BUILDARCH
WORKDIR /src
COPY hack/install-deps.sh hack/install-deps.sh
RUN if [ "${TARGETARCH:-$BUILDARCH}" != "$BUILDARCH" ]; then cross="--$TARGETARCH"; fi \
 && bash hack/install-deps.sh --build-only ${cross:-}
COPY . .
RUN bash hack/build-release.sh --arch "${TARGETARCH:-$BUILDARCH}" /out

FROM debian:bookworm-slim
COPY hack/runtime-packages.txt /tmp/runtime-packages.txt
RUN apt-get update \
 && grep -v '^#' /tmp/runtime-packages.txt | xargs apt-get install -y --no-install-recommends \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt
COPY --from=build /out/certguard /usr/local/bin/certguard
USER 65532:65532
ENTRYPOINT ["certguard"]
CMD ["run"]
