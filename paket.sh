#!/usr/bin/env bash
# Runs Paket without the package feed's address ever being written into the repository.
# paket.dependencies and paket.lock name the feed as %NUGET_FEED%; this wrapper fills that
# variable from the machine's own NuGet configuration, and puts the placeholder back into
# paket.lock afterwards (paket install/update write the expanded address).
# MSBuild calls this as PaketExePath on every restore, possibly several times in parallel,
# so the tool restore is serialised with a lock file; nested calls pass straight through.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [ -z "${NUGET_FEED:-}" ]; then
  NUGET_FEED="$(dotnet nuget list source --format Short 2>/dev/null | awk '$1 ~ /^E/ {print $2; exit}')"
  if [ -z "$NUGET_FEED" ]; then
    echo "paket.sh: no enabled NuGet source found (dotnet nuget list source)" >&2
    exit 1
  fi
  export NUGET_FEED
fi

mkdir -p "$here/.paket"
run() {
  (cd "$here" && dotnet tool restore >/dev/null)
  dotnet paket "$@"
}
if [ -n "${AUTOKL_PAKET_LOCKED:-}" ]; then
  run "$@"
else
  export AUTOKL_PAKET_LOCKED=1
  exec 9>"$here/.paket/paket.sh.lock"
  flock 9
  run "$@"
fi

lock="$here/paket.lock"
if [ -f "$lock" ] && grep -qF "$NUGET_FEED" "$lock"; then
  tmp="$lock.tmp.$$"
  awk -v feed="$NUGET_FEED" '{ i = index($0, feed); while (i > 0) { $0 = substr($0, 1, i-1) "%NUGET_FEED%" substr($0, i+length(feed)); i = index($0, feed) } print }' "$lock" > "$tmp"
  mv "$tmp" "$lock"
fi
