# The flake's outputs with the real crane, rust-overlay and nixpkgs `lib`,
# standing in only for nixpkgs' package set (package-set.nix). Run by
# tests/nix/run when CRANE_SRC, RUST_OVERLAY_SRC and NIXPKGS_LIB_SRC are set:
# `drvs` are instantiated (every output of both systems), `facts` are checked.
{
  craneSrc,
  rustOverlaySrc,
  nixpkgsLibSrc,
  nixpkgsRoot,
  standInNixpkgs,
}:
let
  lib = import (nixpkgsLibSrc + "/lib");
  crane = (import (craneSrc + "/flake.nix")).outputs { };
  rustOverlay = (import (rustOverlaySrc + "/flake.nix")).outputs {
    self = rustOverlay;
    nixpkgs = { inherit lib; };
  };
  out = (import ../../../flake.nix).outputs {
    self = {
      outPath = ../../..;
      lastModified = 1700000000;
    };
    nixpkgs = standInNixpkgs;
    inherit crane;
    rust-overlay = rustOverlay;
  };
  pure = import ../../../nix/lib { cargoToml = builtins.fromTOML (builtins.readFile ../../../Cargo.toml); };
  systems = builtins.attrNames out.packages;
  isRust = d: builtins.match "rust-.*" (d.name or "") != null;
  folderFacts =
    system: name: folder:
    let
      plan = folder.plan;
    in
    map (a:
      let
        bin = folder.binaries.${a.binPath};
        used = lib.unique (builtins.filter isRust bin.nativeBuildInputs);
        usedDigest = pure.rustDigest (builtins.head used);
      in
      {
        folder = "${system}.${name}";
        artifact = a.binPath;
        # the toolchains crane gives the binary's build (after splicing)
        toolchainsUsed = map (d: d.drvPath) used;
        # the folder names one of its toolchains for this triple, and it is the one used
        digestNamesUsedToolchain = builtins.match ".*\"--rust-digest\" \"${a.triple}=${lib.escapeRegex usedDigest}\".*" (builtins.replaceStrings [ "\n" ] [ " " ] folder.buildCommand) != null;
        forbidsUsedToolchain = builtins.any (tc: tc.outPath == (builtins.head used).outPath) folder.toolchains;
        buildsOn = bin.system;
        inherit (a) triple;
        # what crane exports to cargo and cc-rs for a cross build (mkCrossToolchainEnv)
        craneCrossVariables = map (lib.removePrefix "__CRANE_EXPORT_") (
          builtins.filter (lib.hasPrefix "__CRANE_EXPORT_") (builtins.attrNames bin)
        );
      }) plan.artifacts;
in
{
  drvs = builtins.concatLists (
    map (
      system:
      builtins.attrValues out.packages.${system}
      ++ builtins.attrValues out.checks.${system}
      ++ builtins.attrValues out.devShells.${system}
      ++ [ out.formatter.${system} ]
    ) systems
  );
  inherit (out) checks;
  facts = {
    apps = lib.genAttrs systems (system: lib.mapAttrs (_: a: a.program) out.apps.${system});
    # the names; tests/nix/run instantiates `checks` itself to read their closures
    checks = lib.genAttrs systems (system: builtins.attrNames out.checks.${system});
    folders = builtins.concatLists (
      map (system: builtins.concatLists (lib.mapAttrsToList (folderFacts system) (builtins.removeAttrs out.packages.${system} [ "repro" "default" ]))) systems
    );
  };
}
