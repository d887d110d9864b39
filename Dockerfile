# syntax=docker/dockerfile:1
#
# The vault-csi-driver image: the binary on a distroless base, nothing else
# (no shell, no package manager).
#
#   docker build -t registry.example.com/platform/vault-csi-driver:0.1.0 .
#
# Set that name in deploy/daemonset/kustomization.yaml (images).

# ---- build -------------------------------------------------------------
# Same major Debian release as the runtime image below, so the binary links
# against the glibc it runs with. No protoc needed: build.rs compiles the
# CSI proto in Rust.
FROM rust:1.95.0-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin vault-csi-driver \
    && install -D -m 0755 target/release/vault-csi-driver /out/vault-csi-driver

# ---- runtime -----------------------------------------------------------
# distroless/cc: glibc, libgcc and CA certificates (the system roots used
# when VAULT_CACERT is not set). Pin it by digest in your build pipeline.
FROM gcr.io/distroless/cc-debian12
COPY --from=build /out/vault-csi-driver /vault-csi-driver

# Root, on purpose. The driver mounts a tmpfs for every volume into kubelet's
# pods directory and propagates the mount to the host: mount(2) needs
# CAP_SYS_ADMIN in the host's mount namespace, which Kubernetes grants only
# to a privileged container (mountPropagation: Bidirectional requires
# privileged), and files must be handed to each Pod's user (chown). The
# DaemonSet runs this container privileged; nothing else in the image runs.
USER 0:0

ENTRYPOINT ["/vault-csi-driver"]
CMD ["serve"]
