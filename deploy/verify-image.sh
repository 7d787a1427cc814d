#!/usr/bin/env bash
# Builds the Dockerfile for real, with buildah, and runs the image with podman: no Docker
# engine needed, only root and Debian's podman, buildah, runc and debootstrap.
#
#   deploy/verify-image.sh build               the stand-in base (once) and the image
#   deploy/verify-image.sh run [OPTS] [-- ARGS] one container of the image, locked down as
#                                               in Kubernetes (see cmd_run below)
#   deploy/verify-image.sh podman ARGS...      podman on the same image store (exec, stop,
#                                               wait, inspect, images, rm ...)
#
# test/deploy/image-run.test.ts uses all three; docs/deploy.md says what it verifies.
#
# The base image, node:24-bookworm-slim, cannot be pulled everywhere this runs, so `build`
# makes a stand-in with the same layout (Debian bookworm from debootstrap, Node.js at
# /usr/local/bin/node, npm under /usr/local/lib/node_modules/npm, a `node` user 1000:1000 with
# home /home/node) and hands it to the Dockerfile as --build-arg NODE_IMAGE. The Dockerfile
# itself is built unchanged. The stand-in is kept in the image store, tagged by its Node.js
# version and Debian suite, and only built when that tag is missing (a cold build takes one
# to three minutes, a warm one under a minute: docs/deploy.md).
#
# Environment (all optional):
#   PORTWARDEN_IMAGE          the image's tag                    (localhost/portwarden:verify)
#   PORTWARDEN_IMAGE_STORE    image store and stand-in cache     (/var/tmp/portwarden-image)
#   PORTWARDEN_OCI_RUNTIME    podman's OCI runtime               (runc when installed)
#   PORTWARDEN_BASE_SUITE     Debian suite of the stand-in       (bookworm)
#   PORTWARDEN_BASE_MIRROR    Debian mirror for debootstrap      (debootstrap's default)
#   PORTWARDEN_BASE_NPM       npm put into the stand-in          (npm@11, as Node.js 24 ships)
#   PORTWARDEN_BASE_REBUILD=1 build the stand-in again even when it is cached
#   PORTWARDEN_IMAGE_REBUILD=1 run the build even when none of its inputs changed
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
image="${PORTWARDEN_IMAGE:-localhost/portwarden:verify}"
store="${PORTWARDEN_IMAGE_STORE:-/var/tmp/portwarden-image}"
suite="${PORTWARDEN_BASE_SUITE:-bookworm}"

die() {
  echo "verify-image.sh: $*" >&2
  exit 1
}
say() { echo "verify-image.sh: $*" >&2; }

# A store of its own, on the vfs driver: vfs works wherever root does (no overlay or fuse
# needed), and a separate root never mixes with, or is refused by, the machine's own store
# (podman refuses a store that was created with another driver). Its run-time state lives in
# /run, so that a reboot clears it as podman expects.
run_state="/run/portwarden-image"
store_flags=(--root "$store/storage" --runroot "$run_state/storage" --storage-driver vfs)
podman_flags=("${store_flags[@]}" --tmpdir "$run_state/libpod")

# podman's default OCI runtime, crun, refuses to start containers on hosts with a hybrid
# cgroup layout (cgroup v1 controllers with a cgroup v2 hierarchy beside them); runc starts
# them there and everywhere else.
oci_runtime="${PORTWARDEN_OCI_RUNTIME:-}"
if [[ -z "$oci_runtime" ]] && command -v runc >/dev/null; then oci_runtime=runc; fi

podman_cmd() {
  podman "${podman_flags[@]}" ${oci_runtime:+--runtime "$oci_runtime"} "$@"
}

require() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || die "$tool is not installed: apt-get install -y --no-install-recommends podman buildah runc debootstrap"
  done
  [[ "$(id -u)" == 0 ]] || die "run as root: buildah and podman build and run the image in a store of root's ($store)"
}

# The Node.js 24 binary of the project's own `node` devDependency (npm ci puts it there):
# the stand-in base runs exactly the Node.js the test suite runs on.
node_bin="$repo/node_modules/node/bin/node"

node_version() {
  [[ -x "$node_bin" ]] || die "no Node.js binary at node_modules/node/bin/node: run npm ci first"
  local version
  version="$("$node_bin" --version)"
  echo "${version#v}"
}

# The digest of the extra CAs (NODE_EXTRA_CA_CERTS) the stand-in's npm trusts, or nothing;
# a stand-in built with other ones is built again.
extra_ca=""
if [[ -n "${NODE_EXTRA_CA_CERTS:-}" ]]; then
  [[ -r "$NODE_EXTRA_CA_CERTS" ]] || die "NODE_EXTRA_CA_CERTS names a file that cannot be read: $NODE_EXTRA_CA_CERTS"
  extra_ca="$(sha256sum <"$NODE_EXTRA_CA_CERTS" | cut -c1-16)"
fi
extra_ca_label=org.portwarden.stand-in.extra-ca

# Whether the stand-in $1 is in the store, built with the same extra CAs.
base_cached() {
  podman_cmd image exists "$1" &&
    [[ "$(podman_cmd image inspect --format "{{index .Labels \"$extra_ca_label\"}}" "$1")" == "${extra_ca:-none}" ]]
}

# The stand-in for node:24-bookworm-slim, following the official image's layout.
build_base() {
  local base="$1" version="$2" work npm_spec="${PORTWARDEN_BASE_NPM:-npm@11}"
  require debootstrap npm
  work="$(mktemp -d "${TMPDIR:-/tmp}/portwarden-base.XXXXXX")"
  # shellcheck disable=SC2064 # expand $work now: it is local to this function
  trap "rm -rf '$work'" EXIT
  local rootfs="$work/rootfs"

  say "building the stand-in base $base: debootstrap --variant=minbase $suite"
  # minbase: the Essential and apt packages only, as debian:bookworm-slim has; the quickest
  debootstrap --variant=minbase "$suite" "$rootfs" ${PORTWARDEN_BASE_MIRROR:+"$PORTWARDEN_BASE_MIRROR"} >"$work/debootstrap.log" 2>&1 ||
    die "debootstrap failed; its log:"$'\n'"$(tail -n 30 "$work/debootstrap.log")"

  # What Debian's own images (debuerreotype) add for container builds: apt keeps no package
  # caches and fetches no translations, and the -slim variant installs no documentation.
  # Without it the Dockerfile's `apt-get install tini` layer would carry the ~80 MB of
  # caches that the real base never writes.
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
  echo 'Acquire::GzipIndexes "true";' >"$rootfs/etc/apt/apt.conf.d/docker-gzip-indexes"
  echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$rootfs/etc/apt/apt.conf.d/docker-autoremove-suggests"
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
  find "$rootfs/usr/share/doc" -mindepth 1 -not -type d -not -name copyright -delete
  rm -rf "$rootfs"/usr/share/{info,linda,locale,man}/* "$rootfs"/usr/share/lintian/overrides/*

  install -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
  # npm where the official image has it: the Dockerfile's deps stage runs `npm ci`, and its
  # final stage deletes exactly these paths
  (cd "$work" && npm pack --silent "$npm_spec" >npm-pack.out) || die "npm pack $npm_spec failed"
  mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
  tar -xzf "$work/$(tail -n 1 "$work/npm-pack.out")" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  # Behind a proxy that re-signs TLS, npm in the build must trust what the caller's Node.js
  # trusts beyond its own roots (NODE_EXTRA_CA_CERTS). It gets Node's roots plus those, in
  # npm's builtin config inside the npm directory, which the Dockerfile's final stage
  # deletes with npm: nothing of it reaches the image.
  if [[ -n "$extra_ca" ]]; then
    { "$node_bin" -p "require('node:tls').rootCertificates.join('\\n')" && cat "$NODE_EXTRA_CA_CERTS"; } >"$rootfs/usr/local/lib/node_modules/npm/build-ca.pem"
    echo 'cafile=/usr/local/lib/node_modules/npm/build-ca.pem' >"$rootfs/usr/local/lib/node_modules/npm/npmrc"
  fi
  # the same user as the official image: node, 1000:1000, home /home/node
  chroot "$rootfs" groupadd --gid 1000 node
  chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  # what a slim image does not carry: downloaded packages and the package lists
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/*

  # /dev, /proc and /sys stay empty: the runtime mounts them
  tar --numeric-owner --xattrs -C "$rootfs" --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -c . |
    podman_cmd import --quiet \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change "ENV NODE_VERSION=$version" \
      --change 'CMD ["node"]' \
      --change "LABEL $extra_ca_label=${extra_ca:-none}" \
      --change "LABEL org.opencontainers.image.description=\"stand-in for node:${version%%.*}-$suite-slim, built by deploy/verify-image.sh\"" \
      --message "debootstrap --variant=minbase $suite, Node.js $version, $npm_spec" \
      - "$base" >/dev/null
  rm -rf "$work"
  trap - EXIT
}

# Everything the image is built from: the Dockerfile, the build context it sees (the
# allow-list of .dockerignore), this script (its build flags) and the stand-in base's ID.
build_inputs_digest() {
  local paths
  mapfile -t paths < <(sed -n 's:^!\(.*[^/]\)/*[[:space:]]*$:\1:p' "$repo/.dockerignore")
  {
    podman_cmd image inspect --format '{{.Id}}' "$1"
    tar -C "$repo" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - \
      Dockerfile .dockerignore deploy/verify-image.sh "${paths[@]}"
  } | sha256sum | cut -d' ' -f1
}

build_image() {
  local base="$1" started=$SECONDS
  say "building $image from the Dockerfile (NODE_IMAGE=$base)"
  # --isolation chroot: RUN steps need no OCI runtime or user namespaces. --network host:
  # `apt-get install tini` and `npm ci` reach their package mirrors. --layers: unchanged
  # steps (the apt and npm layers above all) come from the cache on the next build.
  # --pull never: the base is the local stand-in, never a registry's image of that name.
  buildah "${store_flags[@]}" bud --force-rm \
    --isolation chroot --network host --layers --pull=never \
    --build-arg NODE_IMAGE="$base" \
    --tag "$image" --file "$repo/Dockerfile" "$repo" >&2
  say "image $image: built in $((SECONDS - started))s"
  # vfs keeps every layer as a full copy of the file system: drop the layers no tagged image
  # uses any more (an earlier build's, a replaced stand-in's), keep the ones the next build reuses
  podman_cmd image prune --force >/dev/null
}

cmd_build() {
  require podman buildah
  local version base started
  version="$(node_version)"
  base="localhost/portwarden-stand-in/node:$version-$suite-slim"

  started=$SECONDS
  if [[ "${PORTWARDEN_BASE_REBUILD:-}" != 1 ]] && base_cached "$base"; then
    say "stand-in base $base: cached"
  else
    build_base "$base" "$version"
    say "stand-in base $base: built in $((SECONDS - started))s"
  fi

  # An image whose inputs have not changed is not built again: on vfs even a build that takes
  # every step from the cache spends half a minute or more copying layers.
  local digest built="$store/built-${image//[\/:]/_}"
  digest="$(build_inputs_digest "$base")"
  if [[ "${PORTWARDEN_IMAGE_REBUILD:-}" != 1 && -f "$built" ]] && podman_cmd image exists "$image" &&
    [[ "$(cat "$built")" == "$digest $(podman_cmd image inspect --format '{{.Id}}' "$image")" ]]; then
    say "image $image: its inputs are unchanged since it was built, not built again"
  else
    build_image "$base"
    echo "$digest $(podman_cmd image inspect --format '{{.Id}}' "$image")" >"$built"
  fi

  local size base_size
  size="$(podman_cmd image inspect --format '{{.Size}}' "$image")"
  base_size="$(podman_cmd image inspect --format '{{.Size}}' "$base")"
  say "image $image: $(((size + 500000) / 1000000)) MB uncompressed (the stand-in base: $(((base_size + 500000) / 1000000)) MB)"
  # for scripts: the tag, the image's size and the base's size in bytes
  echo "image=$image"
  echo "size=$size"
  echo "base_size=$base_size"
}

# One container, locked down the way deploy/kubernetes/ runs it: its own user 1000:1000, no
# capabilities, no privilege escalation, a read-only root file system without the tmpfs
# podman would add on /tmp and /run (Kubernetes adds none), host network.
#   run [PODMAN-RUN-OPTIONS...] [-- ARGS...]   e.g. run --name a -v DIR:/var/lib/portwarden -- authority
cmd_run() {
  require podman
  local opts=()
  while (($#)) && [[ "$1" != -- ]]; do
    opts+=("$1")
    shift
  done
  (($#)) && shift
  # Limits: podman gives root's containers nofile=1048576, more than the hard limit of some
  # hosts, where raising a limit is refused (setrlimit RLIMIT_NOFILE: Operation not
  # permitted): give them this shell's hard limit instead. Any --ulimit replaces podman's
  # default nproc=32768, so it is repeated.
  local nofile
  nofile="$(ulimit -Hn)"
  [[ "$nofile" == unlimited ]] && nofile=1048576
  exec podman "${podman_flags[@]}" ${oci_runtime:+--runtime "$oci_runtime"} run --rm \
    --network host \
    --user 1000:1000 \
    --cap-drop ALL \
    --security-opt no-new-privileges \
    --read-only --read-only-tmpfs=false \
    --ulimit "nofile=$nofile:$nofile" --ulimit nproc=32768:32768 \
    "${opts[@]}" "$image" "$@"
}

case "${1:-}" in
  build) shift && cmd_build "$@" ;;
  run) shift && cmd_run "$@" ;;
  podman) shift && require podman && podman_cmd "$@" ;;
  *) die "usage: deploy/verify-image.sh build | run [PODMAN-RUN-OPTIONS...] [-- ARGS...] | podman ARGS..." ;;
esac
