# The body of the RUSTC_WRAPPER every crane derivation uses: cargo runs
# `<wrapper> <rustc> <args>`, and the wrapper adds the path-bound rustflags of
# [workspace.metadata.repro.reproducible] with this build's paths. Passed this
# way, they never reach cargo's fingerprints, so the dependencies built by
# buildDepsOnly are reused by the binary's derivation on every builder, also
# where $NIX_BUILD_TOP differs between the two (every non-NixOS builder).
{ reproducible }:
let
  pathFlags = builtins.filter (import ./is-path-bound.nix) reproducible.rustflags;
in
''
  exec "$@"${builtins.concatStringsSep "" (map (f: " \\\n  \"${import ./bind-flag.nix f}\"") pathFlags)}
''
