#!/usr/bin/env bash
# mk/deps.sh - the Debian packages hvlab needs, installed when missing.
#
#   --check-or-install  install what is missing (as root), or print the exact
#                       command and fail (not root)
#   --list              print the package list
set -u
PKGS=(build-essential pkg-config make clang clang-14 llvm lld lld-14
      libclang-rt-14-dev liblttng-ust-dev lttng-tools liblttng-ctl-dev
      babeltrace2 libbabeltrace2-dev libbpf-dev bpftool libelf-dev zlib1g-dev
      systemtap-sdt-dev afl++ libxen-dev libxxhash-dev libjansson-dev
      libboost-context-dev python3)
# gnuplot without X (svg, png and pngcairo terminals): hvlab analyze's plots
# (analysis/report.c); the "gnuplot" package would pull in Qt.
PKGS+=(gnuplot-nox)

case "${1:---check-or-install}" in
--list) printf '%s\n' "${PKGS[@]}"; exit 0 ;;
esac

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
        || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "hvlab needs these Debian packages: ${missing[*]}" >&2
    echo "install them as root with:" >&2
    echo "  $cmd" >&2
    exit 1
fi
echo "installing: ${missing[*]}"
apt-get update -q >/dev/null && \
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
