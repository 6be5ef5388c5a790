#!/usr/bin/env bash
# The container image (Containerfile), built here without an image registry. Where Docker and its
# registry exist, `docker build -f Containerfile .` uses the official node and golang images; here the
# same Containerfile is built by Debian's buildah on two local bases it is given as build arguments:
#   node base  a Debian bookworm root made by debootstrap (git, ssh, CA certificates) + the Node 24 binary
#              of the npm package node@24 and pnpm 10 (the ones scripts/env.sh installs)
#   go base    the node base + this machine's Go toolchain (for the CUE evaluator's build stage)
# Images live in .cache/image/storage (vfs driver), apart from the machine's own container storage.
#   image.sh build          builds localhost/varstream:dev from the working tree; prints its id
#   image.sh buildah ARGS   runs buildah on the project's image storage (the image test runs the services
#                           with `image.sh buildah run --isolation chroot …`: podman cannot start
#                           containers in this sandbox, buildah's chroot isolation can)
#   image.sh clean          removes the image storage (the debootstrap root stays cached)
set -euo pipefail
label=image
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="$root/.cache/image"
. "$here/../lib.sh"
. "$root/scripts/env.sh" # Node 24 and pnpm: the node base copies them

storage=(--root "$cache/storage" --runroot "$cache/run" --storage-driver vfs)
b() { buildah "${storage[@]}" "$@"; }
has_image() { b inspect --type image "$1" >/dev/null 2>&1; }

ensure_tools() {
  command -v buildah >/dev/null 2>&1 || apt_install buildah
  command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
}

# A minimal bookworm root with what the runtime needs besides Node, as a tarball cached by its recipe.
rootfs_tar() {
  local packages=git,ca-certificates,openssh-client,libstdc++6
  local tar="$cache/rootfs-bookworm-$(echo "$packages" | sha256sum | cut -c1-12).tar"
  if [ ! -f "$tar" ]; then
    echo "image: debootstrap of Debian bookworm ($packages), once" >&2
    local dir
    dir="$(mktemp -d)"
    debootstrap --variant=minbase --include="$packages" bookworm "$dir" http://deb.debian.org/debian >"$cache/debootstrap.log" 2>&1 ||
      { echo "image: debootstrap failed; see $cache/debootstrap.log" >&2; exit 1; }
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/usr/share/doc "$dir"/usr/share/man "$dir"/usr/share/locale
    tar -C "$dir" -cf "$tar.tmp" .
    rm -rf "$dir"
    mv "$tar.tmp" "$tar"
  fi
  echo "$tar"
}

node_base() {
  local node_bin pnpm_dir version ref
  node_bin="$(command -v node)"
  node_bin="$(readlink -f "$node_bin")"
  version="$(node --version)"
  ref="localhost/varstream-node-base:${version#v}"
  if ! has_image "$ref"; then
    pnpm_dir="$(dirname "$(readlink -f "$(command -v pnpm)")")/.."
    [ -f "$pnpm_dir/package.json" ] || { echo "image: pnpm's package folder not found at $pnpm_dir" >&2; exit 1; }
    local tar ctr
    tar="$(rootfs_tar)"
    echo "image: base $ref (debootstrap root + node $version + pnpm)" >&2
    ctr="$(b from scratch)"
    b add "$ctr" "$tar" / >/dev/null
    b copy "$ctr" "$node_bin" /usr/local/bin/node >/dev/null
    # This machine's CA bundle (for Node too): the build stages reach the registries the way the machine does.
    b copy "$ctr" /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt >/dev/null
    b copy "$ctr" "$pnpm_dir" /usr/local/lib/pnpm >/dev/null
    b run --isolation chroot "$ctr" -- ln -s /usr/local/lib/pnpm/bin/pnpm.cjs /usr/local/bin/pnpm
    b config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      --env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt --cmd node "$ctr"
    b commit --quiet --rm "$ctr" "$ref" >/dev/null
  fi
  echo "$ref"
}

go_base() {
  local node_ref="$1" goroot version ref
  command -v go >/dev/null 2>&1 || { echo "image: Go is needed for the CUE evaluator's build stage" >&2; exit 1; }
  goroot="$(go env GOROOT)"
  version="$(go env GOVERSION)"
  ref="localhost/varstream-go-base:${version#go}"
  if ! has_image "$ref"; then
    echo "image: base $ref (node base + Go $version)" >&2
    local ctr
    ctr="$(b from "$node_ref")"
    b copy "$ctr" "$goroot" /usr/local/go >/dev/null
    b config --env PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
    b commit --quiet --rm "$ctr" "$ref" >/dev/null
  fi
  echo "$ref"
}

case "${1:-build}" in
  build)
    ensure_tools
    mkdir -p "$cache"
    node_ref="$(node_base)"
    go_ref="$(go_base "$node_ref")"
    echo "image: buildah bud -f Containerfile (NODE_IMAGE=$node_ref GO_IMAGE=$go_ref)" >&2
    b bud --isolation chroot --layers --quiet -f "$root/Containerfile" \
      --build-arg NODE_IMAGE="$node_ref" --build-arg GO_IMAGE="$go_ref" -t localhost/varstream:dev "$root" >&2
    b inspect --type image --format '{{.FromImageID}}' localhost/varstream:dev
    ;;
  buildah)
    shift
    # exec: a signal to this script (a test stopping a service) reaches buildah, which passes it on
    exec buildah "${storage[@]}" "$@"
    ;;
  clean) rm -rf "$cache/storage" "$cache/run" ;;
  *) echo "usage: image.sh build|buildah ARGS|clean" >&2; exit 2 ;;
esac
