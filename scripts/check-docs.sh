#!/usr/bin/env bash
# The documentation check (.ci/run runs it after the tests):
#   1. builds the site as the README says, in a fresh clone of HEAD (old obj/ folders of a work
#      tree hide restore problems), at the default root /AutoKl/ and again at the root /;
#   2. fails on any broken internal link, image or #anchor, anything loaded from another host,
#      a guide whose evaluation failed, a public type or member without a summary
#      (scripts/docs-node/check-site.mjs);
#   3. opens every guide in Debian's chromium (installed here if missing) and fails unless each
#      shows its title with no console error and every image loaded, and search answers at both
#      roots (scripts/docs-node/browser-check.mjs).
#
#   scripts/check-docs.sh          check HEAD (committed work only)
#   scripts/check-docs.sh --here   check this work tree as it is, without cloning
# Ends with "check-docs: OK" or "check-docs: FAILED: ..." and a non-zero exit.
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
started=$SECONDS
failed=()
step() { echo; echo "check-docs: ---- $* ($((SECONDS - started)) s)"; }
problem() { echo "check-docs: FAILED: $*" >&2; failed+=("$*"); }

chromium="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  step "installing Debian's chromium"
  if [ "$(id -u)" -eq 0 ]; then apt_get=(apt-get); else apt_get=(sudo -n apt-get); fi
  { "${apt_get[@]}" update -qq && DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" install -y -qq chromium; } >/dev/null 2>&1 \
    || echo "check-docs: could not install chromium with apt-get" >&2
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if [ "${1:-}" = "--here" ]; then
  site="$repo"
else
  step "cloning HEAD into a fresh folder"
  git clone -q "$repo" "$tmp/clone" || { echo "check-docs: FAILED: git clone" >&2; exit 1; }
  site="$tmp/clone"
fi
cd "$site"
node_dir="$site/scripts/docs-node"

step "building the site as the README says: scripts/build-docs.sh"
if scripts/build-docs.sh > "$tmp/build.log" 2>&1; then
  tail -n 2 "$tmp/build.log"
  step "static checks at /AutoKl/"
  node "$node_dir/check-site.mjs" "$site/output" /AutoKl/ || problem "the site built at /AutoKl/ has broken links, remote loads or missing docs (listed above)"
else
  tail -n 40 "$tmp/build.log" >&2
  problem "scripts/build-docs.sh failed (its last lines above)"
fi

step "building the site for the root /: DOCS_ROOT=/ scripts/build-docs.sh --no-build"
if DOCS_ROOT=/ DOCS_OUTPUT="$tmp/output-root" scripts/build-docs.sh --no-build > "$tmp/build-root.log" 2>&1; then
  tail -n 1 "$tmp/build-root.log"
  step "static checks at /"
  node "$node_dir/check-site.mjs" "$tmp/output-root" / || problem "the site built at / has broken links, remote loads or missing docs (listed above)"
else
  tail -n 40 "$tmp/build-root.log" >&2
  problem "DOCS_ROOT=/ scripts/build-docs.sh failed (its last lines above)"
fi

if [ -x "$chromium" ]; then
  if [ -f "$site/output/index.html" ]; then
    step "chromium at /AutoKl/"
    node "$node_dir/browser-check.mjs" "$site/output" /AutoKl/ "$site/docs" "$chromium" || problem "pages at /AutoKl/ did not render cleanly in chromium (listed above)"
  fi
  if [ -f "$tmp/output-root/index.html" ]; then
    step "chromium at /"
    node "$node_dir/browser-check.mjs" "$tmp/output-root" / "$site/docs" "$chromium" || problem "pages at / did not render cleanly in chromium (listed above)"
  fi
else
  problem "no chromium at $chromium: the pages were not opened in a browser"
fi

echo
if [ ${#failed[@]} -eq 0 ]; then
  echo "check-docs: OK ($((SECONDS - started)) s)"
  exit 0
fi
echo "check-docs: FAILED (${#failed[@]}), after $((SECONDS - started)) s:" >&2
for f in "${failed[@]}"; do echo "  - $f" >&2; done
exit 1
