#!/bin/sh
# Install the R peers the benchmarks compare with: R and the packages' dependencies from
# Debian, then LCMCR, dga, SparseMSE and Rcapture from their CRAN sources at the versions
# measured (benchmarks/peers/README.md).
#
# Usage: sh benchmarks/peers/install.sh [SRC]
#   SRC (optional) is a folder holding, for each package, either its CRAN source tarball
#   (PKG_VERSION.tar.gz) or a git copy of GitHub's read-only CRAN mirror of it (a bare
#   repository PKG.git, or cran+PKG/repo), whose tags are the CRAN versions. A package
#   found in neither is cloned from that mirror (network needed).
# Environment: SKIP_APT=1 skips apt-get (already installed); RLIB=DIR installs the R
# packages into DIR instead of R's site library (then run with R_LIBS=DIR).
set -eu

SRC=${1:-}
if [ "${SKIP_APT:-0}" != 1 ]; then
    apt-get install -y --no-install-recommends r-base-dev libgsl-dev \
        r-cran-coda r-cran-rcpp r-cran-rcpparmadillo r-cran-chron r-cran-lpsolve
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

tarball() {  # PKG VERSION -> path of the source tarball
    pkg=$1 ver=$2
    if [ -n "$SRC" ] && [ -f "$SRC/${pkg}_$ver.tar.gz" ]; then
        echo "$SRC/${pkg}_$ver.tar.gz"
        return
    fi
    gitdir=
    for d in "$SRC/$pkg.git" "$SRC/cran+$pkg/repo"; do
        if [ -n "$SRC" ] && [ -d "$d" ]; then gitdir=$d; break; fi
    done
    if [ -z "$gitdir" ]; then
        gitdir=$work/$pkg.git
        git clone --quiet --bare "https://github.com/cran/$pkg" "$gitdir" >&2
    fi
    git --git-dir="$gitdir" archive --prefix="$pkg/" "$ver" | gzip > "$work/${pkg}_$ver.tar.gz"
    echo "$work/${pkg}_$ver.tar.gz"
}

lib=
if [ -n "${RLIB:-}" ]; then
    mkdir -p "$RLIB"
    lib="-l $RLIB"
fi
# Dependencies first: SparseMSE imports Rcapture.
for spec in Rcapture:1.4-4 SparseMSE:2.0.1 dga:2.0.2 LCMCR:0.4.14; do
    pkg=${spec%%:*} ver=${spec#*:}
    # shellcheck disable=SC2086  # $lib is empty or two words
    R CMD INSTALL $lib "$(tarball "$pkg" "$ver")"
done
for pkg in Rcapture SparseMSE dga LCMCR coda; do
    R_LIBS=${RLIB:-} Rscript -e "suppressMessages(library($pkg)); cat('$pkg', format(packageVersion('$pkg')), '\n')"
done
