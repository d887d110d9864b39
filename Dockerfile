# syntax=docker/dockerfile:1
#
# The vault-csi-driver image: the binary on a distroless base, nothing else
# (no shell, no package manager).
#
#   docker build \
#     --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) \
#     --build-arg SOURCE=https://git.example.com/platform/vault-csi-driver \
#     -t registry.example.com/platform/vault-csi-driver:0.1.0 .
#
# Set that name in deploy/daemonset/kustomization.yaml (images).
# Base images are pinned by digest; move them together with the tags.

# ---- build -------------------------------------------------------------
# Same major Debian release as the runtime image below, so the binary links
# against the glibc it runs with. No protoc needed: build.rs compiles the
# CSI proto in Rust.
FROM rust:1.95.0-bookworm@sha256:6258907abe69656e41cd992e0b705cdcfabcbbe3db374f92ed2d47121282d4a1 AS build
# cargo-auditable embeds the dependency list in the binary (readable by
# `cargo audit bin` and SBOM scanners); cargo-cyclonedx writes the SBOM.
RUN cargo install --locked cargo-auditable@0.7.7 cargo-cyclonedx@0.5.9
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo auditable build --release --locked --bin vault-csi-driver \
    && install -D -m 0755 target/release/vault-csi-driver /out/vault-csi-driver \
    && cargo cyclonedx --format json --spec-version 1.5 --target x86_64-unknown-linux-gnu \
    && install -D -m 0644 vault-csi-driver.cdx.json /out/sbom/vault-csi-driver.cdx.json

# ---- runtime -----------------------------------------------------------
# distroless/cc: glibc, libgcc and CA certificates (the system roots used
# when VAULT_CACERT is not set).
FROM gcr.io/distroless/cc-debian12@sha256:b7550f0b15838de14c564337eef2b804ba593ae55d81ca855421bd52f19bb480
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="vault-csi-driver" \
      org.opencontainers.image.description="Kubernetes CSI node driver serving Vault/OpenBao secrets to Pods as files on tmpfs, driven by the Vault Agent Injector's annotations" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="MPL-2.0"
COPY --from=build /out/vault-csi-driver /vault-csi-driver
# The CycloneDX SBOM of the binary's dependencies, for scanners.
COPY --from=build /out/sbom/ /usr/share/doc/vault-csi-driver/

# Root, on purpose. The driver mounts a tmpfs for every volume into kubelet's
# pods directory and propagates the mount to the host: mount(2) needs
# CAP_SYS_ADMIN in the host's mount namespace, which Kubernetes grants only
# to a privileged container (mountPropagation: Bidirectional requires
# privileged), and files must be handed to each Pod's user (chown). The
# DaemonSet runs this container privileged; nothing else in the image runs.
USER 0:0

ENTRYPOINT ["/vault-csi-driver"]
CMD ["serve"]
