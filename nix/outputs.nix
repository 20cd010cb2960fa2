# Everything the flake exports, for every system, generated from the release
# matrix in Cargo.toml. flake.nix only passes its inputs here.
{
  self,
  nixpkgs,
  crane,
  rust-overlay,
  ...
}:
let
  systems = [
    "x86_64-linux"
    "aarch64-linux"
  ];
  forEach = names: f: builtins.listToAttrs (map (name: { inherit name; value = f name; }) names);
  hostTriples = {
    x86_64-linux = "x86_64-unknown-linux-gnu";
    aarch64-linux = "aarch64-unknown-linux-gnu";
  };

  # The flake's own source, as a path (what crane's cleanCargoSource expects);
  # `self` is only needed for the commit's date.
  root = ../.;
  cargoToml = builtins.fromTOML (builtins.readFile (root + "/Cargo.toml"));
  pure = import ./lib { inherit cargoToml; };
  version = cargoToml.workspace.package.version;
  # The manifest's timestamp: the commit's date, not the build's.
  epoch = toString (self.lastModified or 1);

  # The package set of a build mode ({ localSystem; crossSystem; }).
  pkgsFor =
    { localSystem, crossSystem, ... }:
    import nixpkgs (
      {
        inherit localSystem;
        overlays = [ rust-overlay.overlays.default ];
      }
      // (if crossSystem == null then { } else { inherit crossSystem; })
    );
  # The one toolchain file, as plain cargo reads it.
  toolchainOf = p: p.rust-bin.fromRustupToolchainFile (root + "/rust-toolchain.toml");
  # crane splices the function per package set; the toolchain that compiles
  # for a package set runs on its build machine: the one from buildPackages.
  # rust-overlay's toolchain propagates the target's C compiler, so a cross
  # package set's toolchain is another store path than the native one.
  buildToolchainOf = pkgs: toolchainOf pkgs.buildPackages;
  craneFor = pkgs: (crane.mkLib pkgs).overrideToolchain toolchainOf;

  # crane's cleanCargoSource, plus the JSON Schemas of the tools' --json
  # output, which their tests validate real output against, and the fuzz
  # targets' committed inputs, which the regression tests replay.
  src =
    let
      pkgs = pkgsFor { localSystem = "x86_64-linux"; crossSystem = null; };
      craneLib = craneFor pkgs;
    in
    pkgs.lib.cleanSourceWith {
      src = pkgs.lib.cleanSource root;
      name = "source";
      filter =
        path: type:
        craneLib.filterCargoSources path type
        || pkgs.lib.hasSuffix ".schema.json" (baseNameOf path)
        || pkgs.lib.hasInfix "/fuzz/regressions/" (toString path);
    };
  commonArgs = pkgs: triple: {
    inherit src version;
    strictDeps = true;
    CARGO_BUILD_TARGET = triple;
    # The path-bound reproducible rustflags, out of cargo's fingerprints.
    RUSTC_WRAPPER = "${pkgs.buildPackages.callPackage ./rustc-remap.nix { } { script = pure.rustcRemapScript; }}";
    # +crt-static (in the reproducible rustflags) links glibc statically.
    buildInputs = [ pkgs.glibc.static ];
    postUnpack = ''
      mv "$NIX_BUILD_TOP/$sourceRoot" "$NIX_BUILD_TOP/${pure.sourceFolder}"
      sourceRoot=${pure.sourceFolder}
    '';
    preBuild = pure.reproducibleEnv;
  };

  # The binaries of one build mode (canonical or native) for one triple:
  # { packages.<name> = derivation; vendorDir; toolchain; }.
  binariesFor =
    modes: triple:
    let
      pkgs = pkgsFor modes.${triple};
      craneLib = craneFor pkgs;
      groups = pure.depGroups triple;
      args = commonArgs pkgs triple;
    in
    {
      vendorDir = craneLib.vendorCargoDeps { inherit src; };
      toolchain = buildToolchainOf pkgs;
      packages = builtins.foldl' (
        acc: groupName:
        let
          deps = pkgs.callPackage ./release-deps.nix { inherit craneLib; } {
            commonArgs = args;
            name = "${groupName}-${triple}";
            group = groups.${groupName};
          };
        in
        acc
        // forEach groups.${groupName}.packages (
          package:
          pkgs.callPackage ./release-binary.nix { inherit craneLib; } {
            commonArgs = args;
            artifact = pure.artifact package triple;
            cargoArtifacts = deps;
            inherit (pure) cargoArgs;
          }
        )
      ) { } (builtins.attrNames groups);
    };

  modeSets = {
    canonical = pure.buildModes.canonical;
    native = pure.buildModes.native;
  };
  triplesOfMatrix = builtins.attrNames (
    builtins.listToAttrs (
      builtins.concatLists (map (t: map (x: { name = x; value = null; }) t.triples) (builtins.attrValues pure.matrix.targets))
    )
  );
  binaries = builtins.mapAttrs (_: modes: forEach triplesOfMatrix (binariesFor modes)) modeSets;

  # A release folder (nix/lib/release-folders.nix describes each).
  folderFor =
    { name, pair, modeName, ... }:
    let
      modes = modeSets.${modeName};
      plan = pure.planOfPair pair;
      built = binaries.${modeName};
      # The folder is assembled where its first triple is built.
      pkgs = pkgsFor { localSystem = modes.${builtins.head plan.triples}.localSystem; crossSystem = null; };
      # Each distinct store path once: triples may share a toolchain or vendor dir.
      distinct = drvs: builtins.attrValues (builtins.listToAttrs (map (d: { name = builtins.unsafeDiscardStringContext "${d}"; value = d; }) drvs));
    in
    pkgs.callPackage ./release-folder.nix { } {
      name = "camhub-${name}";
      inherit plan epoch;
      binaries = builtins.listToAttrs (
        map (a: {
          name = a.binPath;
          value = built.${a.triple}.packages.${a.package};
        }) plan.artifacts
      );
      repro = reproFor pkgs;
      toolchains = distinct (map (t: built.${t}.toolchain) plan.triples);
      vendorDirs = distinct (map (t: built.${t}.vendorDir) plan.triples);
      glibcFloor = pure.matrix.glibc_floor;
      manifestArgs = pure.manifestCommand {
        out = "$out";
        workspace = "${src}";
        inherit plan modes version;
        sourceRev = self.rev or null;
        rustDigests = forEach plan.triples (t: pure.rustDigest built.${t}.toolchain);
      };
    };
  releaseFolders = builtins.listToAttrs (map (f: { inherit (f) name; value = folderFor f; }) pure.releaseFolders);

  reproFor =
    pkgs:
    pkgs.callPackage ./repro-tool.nix { craneLib = craneFor pkgs; } {
      inherit src version;
    };

  perSystem =
    system:
    let
      pkgs = pkgsFor { localSystem = system; crossSystem = null; };
      craneLib = craneFor pkgs;
      repro = reproFor pkgs;
      hostTriple = hostTriples.${system};
      # Checks build for, and on, the machine they are listed under.
      hostArgs = commonArgs pkgs hostTriple;
      depsFor = scope: craneLib.buildDepsOnly (hostArgs // { inherit (scope) cargoExtraArgs; pname = "camhub-check-deps-${scope.name}"; });
      # The build mode that builds the host triple on this system itself.
      localMode = builtins.head (
        builtins.filter (
          m: modeSets.${m}.${hostTriple}.localSystem == system && modeSets.${m}.${hostTriple}.crossSystem == null
        ) (builtins.attrNames modeSets)
      );
      noiseArtifact = builtins.head (builtins.filter (a: a.triple == hostTriple) (pure.plan "ipcamera" "all").artifacts);
      checkList =
        [
          {
            name = "rustfmt";
            drv = craneLib.cargoFmt {
              inherit src version;
              pname = "camhub-rustfmt";
            };
          }
        ]
        ++ builtins.concatLists (
          map
            (kind: map (scope: {
              name = "${kind.name}-${scope.name}";
              drv = kind.run (
                hostArgs
                // {
                  inherit (scope) cargoExtraArgs;
                  pname = "camhub-${kind.name}-${scope.name}";
                  cargoArtifacts = depsFor scope;
                }
                // kind.args
              );
            }) pure.testScopes)
            [
              {
                name = "clippy";
                run = craneLib.cargoClippy;
                args.cargoClippyExtraArgs = "--all-targets -- -D warnings";
              }
              {
                # ssh-keygen: the attestation tests check our signatures with it.
                name = "tests";
                run = craneLib.cargoNextest;
                args.nativeBuildInputs = [ pkgs.openssh ];
              }
            ]
        )
        ++ [
          {
            name = "reproducible-under-noise";
            drv = pkgs.callPackage ./noise-check.nix { } {
              binary = binaries.${localMode}.${hostTriple}.packages.${noiseArtifact.package};
              artifact = noiseArtifact;
              inherit repro;
            };
          }
        ]
        # Every release folder this system builds entirely, so `nix flake
        # check` proves the folders build (no store reference, portable ELF).
        ++ map (f: {
          name = "release-${f.name}";
          drv = releaseFolders.${f.name};
        }) (builtins.filter (f: f.systems == [ system ]) pure.releaseFolders);
    in
    {
      packages = releaseFolders // {
        default = releaseFolders.all-release;
        inherit repro;
      };
      apps = {
        compare = {
          type = "app";
          program = "${pkgs.writeShellScriptBin "compare" ''exec ${repro}/bin/repro compare "$@"''}/bin/compare";
        };
        test-reproduce = {
          type = "app";
          program = "${pkgs.callPackage ./test-reproduce.nix { } { inherit repro; }}/bin/test-reproduce";
        };
      };
      checks = builtins.listToAttrs (map (c: { inherit (c) name; value = c.drv; }) checkList);
      devShells.default = craneLib.devShell {
        packages = [
          repro
          pkgs.cargo-nextest
        ];
      };
      formatter = pkgs.nixfmt;
    };
  bySystem = forEach systems perSystem;
in
{
  packages = builtins.mapAttrs (_: s: s.packages) bySystem;
  apps = builtins.mapAttrs (_: s: s.apps) bySystem;
  checks = builtins.mapAttrs (_: s: s.checks) bySystem;
  devShells = builtins.mapAttrs (_: s: s.devShells) bySystem;
  formatter = builtins.mapAttrs (_: s: s.formatter) bySystem;
}
