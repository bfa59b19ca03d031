#!/usr/bin/env bash
# Builds the documentation site into output/ and fails if anything on it is wrong.
#
#   scripts/build-docs.sh            build the site (about a minute)
#   scripts/build-docs.sh --no-build skip `dotnet build` (the Release assemblies are already built)
#   DOCS_ROOT=/ scripts/build-docs.sh  links for a site served at the top of a server (default /AutoKl/)
#   DOCS_OUTPUT=DIR scripts/build-docs.sh  write the site into DIR (default output/)
#
# The guides in docs/*.fsx are F# scripts that fsdocs runs (--eval) against the Release build
# of src/AutoKl.FSharp (and src/AutoKl.Testing), so every number on the site is the library's own output. fsdocs does
# not build the project itself, and its --strict does not fail when a script throws (the page
# then says "No value returned by any evaluator"), so this script checks for that.
# fsdocs also copies a NuGet.config holding package feed addresses into the output: it is
# removed, and the output is checked to name no package feed known to this machine.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="${DOCS_OUTPUT:-$root/output}"
# The URL path the site is served under (links and styles are absolute). Without it fsdocs
# guesses from the folder name. DOCS_ROOT=/ serves the output folder at the top of a server.
site_root="${DOCS_ROOT:-/AutoKl/}"

fail() { echo "build-docs: FAILED: $*" >&2; exit 1; }

dotnet tool restore >/dev/null || fail "dotnet tool restore"
# fsdocs cracks every project of the solution (not only the one built below), and stops on
# one that was never restored: restore them all first, so a fresh clone builds first time.
dotnet restore AutoKl.sln -nologo -v quiet || fail "dotnet restore AutoKl.sln"
if [ "${1:-}" != "--no-build" ]; then
  dotnet build src/AutoKl.FSharp -c Release -nologo -v quiet --no-restore || fail "dotnet build -c Release"
  # The property-testing guide loads AutoKl.Testing and FsCheck/Expecto from its output folder.
  dotnet build src/AutoKl.Testing -c Release -nologo -v quiet --no-restore || fail "dotnet build src/AutoKl.Testing -c Release"
  # The command-line tool draws the guides' pictures (below).
  dotnet build src/AutoKl.Cli -c Release -nologo -v quiet --no-restore || fail "dotnet build src/AutoKl.Cli -c Release"
  # The guides draw their pictures with the CLI's chart code (ScottPlot, ImageSharp).
  dotnet build src/AutoKl.Plots -c Release -nologo -v quiet --no-restore || fail "dotnet build src/AutoKl.Plots -c Release"
fi

# Feed addresses to keep out of the site: the machine's NuGet sources and the ones in the
# NuGet.config that fsdocs ships (read at run time, so none is written in this repository).
feeds="$(mktemp)"
trap 'rm -f "$feeds"' EXIT
dotnet nuget list source --format Short 2>/dev/null | awk '{print $2}' | grep -E '^[a-z]+://' >> "$feeds" || true
for config in "$HOME"/.nuget/packages/fsdocs-tool/*/extras/NuGet.config; do
  [ -f "$config" ] && grep -oE 'value="[a-z]+://[^"]+"' "$config" | sed -E 's/^value="//; s/"$//' >> "$feeds" || true
done

log="$(mktemp)"
trap 'rm -f "$feeds" "$log"' EXIT
# Source links: the project has no public repository, so the site publishes its own copy of the
# library's sources under ${site_root}source/ (scripts/docs-node/sources.mjs, run by postprocess.mjs)
# and the API pages link there. RepositoryUrl (given to fsdocs only, not to the library build)
# is that folder; --sourcerepo is the same folder as an absolute address, the only kind fsdocs
# accepts (its links for F# members come out as file://${site_root}source/src/...#L27-27, and
# postprocess.mjs turns them into ${site_root}source/src/....fs.html#L27). fsdocs has no line
# for C# members; postprocess.mjs finds those in the C# files.
if ! dotnet fsdocs build --eval --strict --clean --properties Configuration=Release "RepositoryUrl=${site_root}source/" \
     --sourcefolder "$root" --sourcerepo "file://${site_root}source/" \
     --output "$out" \
     --parameters root "$site_root" fsdocs-collection-name AutoKl fsdocs-logo-link "${site_root}index.html" \
                  fsdocs-logo-src img/logo.svg fsdocs-favicon-src img/logo.svg fsdocs-logo-alt AutoKl \
     2>&1 | tee "$log"; then
  fail "dotnet fsdocs build (see the messages above)"
fi
# F# errors in a guide ("docs/x.fsx(12,5): error FS0039: ..."); --strict catches most, not all.
if grep -E "(^|[[:space:]])error( FS[0-9]+)?:" "$log"; then fail "fsdocs reported errors (see above)"; fi

# A guide that threw while being evaluated.
if grep -rl "No value returned by any evaluator" "$out" --include='*.html' >/dev/null; then
  grep -rl "No value returned by any evaluator" "$out" --include='*.html' >&2
  fail "a guide failed while evaluating (its page says 'No value returned by any evaluator'); run it with: dotnet fsi docs/<page>.fsx"
fi
# Every guide must exist and show evaluated output.
for script in docs/*.fsx; do
  page="$out/$(basename "${script%.fsx}").html"
  [ -f "$page" ] || fail "no page for $script"
  # fsdocs puts evaluated output (include-value/-output/-it) in <table class="pre"><tr><td><pre><code>;
  # source snippets have <td class="snippet">.
  grep -q '<table class="pre"><tr><td><pre><code>' "$page" || fail "$page shows no evaluated output"
done

# The assets the pages load, from npm packages (scripts/docs-node/package.json), so the site
# works offline: no page loads anything from another host.
node_dir="$root/scripts/docs-node"
if [ ! -f "$node_dir/node_modules/.package-lock.json" ] || [ "$node_dir/package-lock.json" -nt "$node_dir/node_modules/.package-lock.json" ]; then
  (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci in scripts/docs-node"
fi
vendor="$out/content/vendor"
mkdir -p "$vendor/fuse.js" "$vendor/katex" "$vendor/fira-code/files"
cp "$node_dir/node_modules/fuse.js/dist/fuse.min.mjs" "$node_dir/node_modules/fuse.js/LICENSE" "$vendor/fuse.js/"
cp "$node_dir/node_modules/katex/dist/katex.min.css" "$node_dir/node_modules/katex/LICENSE" "$vendor/katex/"
cp -r "$node_dir/node_modules/katex/dist/fonts" "$vendor/katex/"
cp "$node_dir/node_modules/@fontsource/fira-code/400.css" "$node_dir/node_modules/@fontsource/fira-code/LICENSE" "$vendor/fira-code/"
cp "$node_dir"/node_modules/@fontsource/fira-code/files/fira-code-*-400-normal.woff* "$vendor/fira-code/files/"
# The template's own scripts that import lit, fuse.js and iconify from CDNs are replaced by
# docs/content/autokl-site.js; no page loads them.
rm -f "$out/content/fsdocs-search.js" "$out/content/fsdocs-theme-toggle.js" "$out/content/fsdocs-details-toggle.js"
# The Gaussian-fit guide's pictures, drawn by `autokl fit --out` while the site builds (it shows them
# with <img src="img/...">; the link check fails on any that is missing).
cli="$root/src/AutoKl.Cli/bin/Release/net10.0/AutoKl.Cli.dll"
[ -f "$cli" ] || fail "no $cli: build it with dotnet build src/AutoKl.Cli -c Release (or drop --no-build)"
pictures() { local folder="$1"; shift; dotnet "$cli" "$@" --quiet --out "$out/img/$folder" >/dev/null || fail "autokl $* --out img/$folder"; }
pictures fit/kl fit --loss kl
pictures fit/mse-mu0 fit --loss mse
pictures fit/mse-mu5 fit --loss mse --mu 5
pictures fit/cosine-mu5 fit --loss cosine --mu 5
# The KL guide draws its bar charts itself while it is evaluated (the chart code behind
# `autokl kl --out`, inline), so its pictures and the downloadable script's are the same.

node "$node_dir/postprocess.mjs" "$out" "$site_root" "$root/docs" || fail "finishing the pages (scripts/docs-node/postprocess.mjs)"

# Styles and links point under the chosen root.
grep -qF "href=\"${site_root}content/fsdocs-default.css\"" "$out/index.html" \
  || fail "index.html does not load its styles from ${site_root}content/"

# No feed configuration and no feed address in the published site.
find "$out" -iname 'nuget.config' -print -delete
while IFS= read -r feed; do
  [ -n "$feed" ] || continue
  host="$(printf '%s\n' "$feed" | sed -E 's#^[a-z]+://([^/:]+).*#\1#')"
  if grep -rlF "$host" "$out" >/dev/null; then
    grep -rlF "$host" "$out" >&2
    fail "the site names a package feed host ($host)"
  fi
done < <(sort -u "$feeds")

echo "build-docs: OK, site in $out ($(find "$out" -name '*.html' | wc -l) pages)"
