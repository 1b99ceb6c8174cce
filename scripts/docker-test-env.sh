#!/usr/bin/env bash
# Prepare a Docker engine and the offline test image `python:3.11-slim`.
#
# Installs Debian's docker.io and debootstrap when missing, starts dockerd when
# no engine answers, and builds the image from Debian bookworm (python3,
# python3-pandas and python3-pip, for `executor.setup`; python3-ipykernel and
# python3-matplotlib, for the stateful kernel) with debootstrap +
# `docker import`, because no image registry is reachable here. Each step is
# skipped when its result already exists; an image built by an older revision
# of this script (label autorun.test-image) is rebuilt.
set -euo pipefail

IMAGE="${AUTORUN_TEST_IMAGE:-python:3.11-slim}"
REVISION=3
PACKAGES=python3,python3-pandas,python3-pip
# Installed by apt in a second step: debootstrap cannot configure python3-zmq (a dependency
# of ipykernel) while it configures the base system.
KERNEL_PACKAGES="python3-ipykernel python3-matplotlib"
log() { printf 'docker-test-env: %s\n' "$*" >&2; }

need_apt_update=1
apt_install() {
    if [ "$need_apt_update" = 1 ]; then
        apt-get update -qq >/dev/null
        need_apt_update=0
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

debian_mirror() {
    # The first deb URI in apt's own sources, so no host name lives in this repo.
    local uri
    uri=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n1 | awk '{print $2}')
    if [ -z "$uri" ]; then
        uri=$(grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | grep -v security | head -n1 | awk '{print $2}')
    fi
    [ -n "$uri" ] || { log "cannot find a Debian mirror in apt's sources"; exit 1; }
    printf '%s\n' "$uri"
}

if ! command -v dockerd >/dev/null 2>&1; then
    log "installing docker.io"
    apt_install docker.io
fi
for tool in debootstrap bwrap; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        pkg=$tool; [ "$tool" = bwrap ] && pkg=bubblewrap
        log "installing $pkg"
        apt_install "$pkg"
    fi
done

# Debian's pandas on the host too: tests/test_datafile.py runs autorun's file inspection with
# /usr/bin/python3 as another user. (The builtin analyst's runtime needs DuckDB and is no longer
# tested on Debian's pandas 1.5; in Docker it runs on the runtime image, `autorun image build`.)
if ! /usr/bin/python3 -c 'import pandas' >/dev/null 2>&1; then
    log "installing python3-pandas (Debian's pandas 1.5)"
    apt_install python3-pandas
fi

if ! docker info >/dev/null 2>&1; then
    log "starting dockerd"
    nohup dockerd >/var/log/autorun-dockerd.log 2>&1 &
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && break
        sleep 1
    done
    docker info >/dev/null 2>&1 || { log "dockerd did not start; see /var/log/autorun-dockerd.log"; exit 1; }
fi
log "engine $(docker version --format '{{.Server.Version}}')"

present=$(docker image inspect --format '{{index .Config.Labels "autorun.test-image"}}' "$IMAGE" 2>/dev/null || true)
if [ "$present" = "$REVISION" ]; then
    log "image $IMAGE present"
    exit 0
fi

mirror=$(debian_mirror)
rootfs=$(mktemp -d /tmp/autorun-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
log "building $IMAGE from Debian bookworm (about a minute)"
debootstrap --variant=minbase --include="$PACKAGES" bookworm "$rootfs" "$mirror" >/tmp/autorun-debootstrap.log 2>&1 \
    || { log "debootstrap failed; see /tmp/autorun-debootstrap.log"; exit 1; }
log "installing $KERNEL_PACKAGES (the stateful kernel and figures)"
chroot "$rootfs" sh -c "DEBIAN_FRONTEND=noninteractive apt-get update -qq && apt-get install -y -qq --no-install-recommends $KERNEL_PACKAGES" \
    >>/tmp/autorun-debootstrap.log 2>&1 || { log "installing $KERNEL_PACKAGES failed; see /tmp/autorun-debootstrap.log"; exit 1; }
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar -C "$rootfs" -c . \
    | docker import -c "LABEL autorun.test-image=$REVISION" -c 'CMD ["python3"]' - "$IMAGE" >/dev/null
log "image $IMAGE built"
