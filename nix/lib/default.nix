# The pure part of the build: every function here uses builtins only, so it
# evaluates (and is tested) on machines that cannot fetch nixpkgs or crane.
# `cargoToml` is the workspace's Cargo.toml, parsed.
{ cargoToml }:
let
  matrix = cargoToml.workspace.metadata.repro;
in
rec {
  inherit matrix;
  validPairs = import ./valid-pairs.nix { inherit matrix; };
  plan = import ./plan.nix { inherit matrix; };
  artifact = import ./artifact.nix { inherit matrix; };
  cargoArgs = import ./cargo-args.nix;
  depGroups = import ./dep-groups.nix { inherit matrix; };
  buildModes = import ./build-modes.nix;
  reproducibleEnv = import ./reproducible-env.nix { inherit (matrix) reproducible; };
  rustcRemapScript = import ./rustc-remap-script.nix { inherit (matrix) reproducible; };
  rustDigest = import ./rust-digest.nix;
  manifestCommand = import ./manifest-command.nix;
  planOfPair = import ./plan-of-pair.nix { inherit matrix; };
  releaseFolders = import ./release-folders.nix { inherit matrix; };
  testScopes = import ./test-scopes.nix { inherit matrix; };
  # Every crane derivation unpacks its source into this folder, so the
  # workspace's paths are the same for the deps and the packages (the noise
  # check renames it on purpose).
  sourceFolder = "camhub-source";
}
