# `nix run .#test-reproduce -- <attribute>`: builds a release folder, then
# rebuilds every binary in it with `nix build --rebuild --keep-failed`. When
# Nix reports a difference, it puts the rebuilt binary into a copy of the
# folder and runs `repro compare`, so the user sees which artifact differs.
{ writeShellScriptBin }:
{ repro }:
writeShellScriptBin "test-reproduce" ''
  set -euo pipefail
  attr="''${1:-default}"
  flake="''${FLAKE:-.}"
  echo "==> building $flake#$attr"
  folder=$(nix build "$flake#$attr" --no-link --print-out-paths)
  folder_drv=$(nix path-info --derivation "$flake#$attr")
  work=$(mktemp -d)
  # Copies of store paths are read-only: make them writable to remove them.
  trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
  cp -r "$folder" "$work/first"
  cp -r "$folder" "$work/rebuilt"
  chmod -R u+w "$work/rebuilt"
  differs=0
  for drv in $(nix-store --query --references "$folder_drv" | grep -- '-camhub-bin-.*\.drv$'); do
    # --rebuild needs the first output here; a folder fetched from a cache
    # comes without its binaries' derivations' outputs.
    nix build "$drv^*" --no-link
    echo "==> rebuilding $drv"
    if ! nix build "$drv^*" --no-link --rebuild --keep-failed 2>"$work/log"; then
      cat "$work/log" >&2
      out=$(nix-store --query --outputs "$drv")
      if [ ! -e "$out.check" ]; then
        echo "the rebuild failed without an output to compare" >&2
        exit 2
      fi
      differs=1
      # The folder holds this binary under its release name: find it by hash.
      for file in "$work"/first/*/*; do
        if cmp -s "$file" "$out/bin/$(ls "$out/bin")"; then
          cp "$out.check/bin/$(ls "$out.check/bin")" "$work/rebuilt/''${file#"$work/first/"}"
        fi
      done
    fi
  done
  # The rebuilt copy's manifest must not vouch for the old bytes: drop the
  # recorded hashes (compare hashes every file itself) so a difference shows
  # as a DIFF of that artifact.
  sed -i '/"sha256": /d' "$work/rebuilt/manifest.json"
  if [ "$differs" = 0 ]; then
    echo "==> Nix rebuilt every binary of $attr bit for bit"
  fi
  # Not exec: the trap must still remove the copies.
  status=0
  ${repro}/bin/repro compare "$work/first" "$work/rebuilt" || status=$?
  exit "$status"
''
