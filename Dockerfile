# certguard image: built on Debian bookworm with the same dependency script and
# build commands as CI (hack/install-deps.sh, hack/build-release.sh), run from
# a slim stage holding only the shared libraries the binary needs
# (hack/runtime-packages.txt, checked against the binary by CI).
#
#   docker build -t certguard:dev .
FROM debian:bookworm AS build
WORKDIR /src
COPY hack/install-deps.sh hack/install-deps.sh
RUN bash hack/install-deps.sh --build-only
COPY . .
RUN bash hack/build-release.sh /out

FROM debian:bookworm-slim
COPY hack/runtime-packages.txt /tmp/runtime-packages.txt
RUN apt-get update \
 && grep -v '^#' /tmp/runtime-packages.txt | xargs apt-get install -y --no-install-recommends \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt
COPY --from=build /out/certguard /usr/local/bin/certguard
USER 65532:65532
ENTRYPOINT ["certguard"]
CMD ["run"]
