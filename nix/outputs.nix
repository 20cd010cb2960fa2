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

  # The flake's own source, as a path (what crane's cleanCargoSource expects);
  # `self` is only needed for the commit's date.
  root = ../.;
  cargoToml = builtins.fromTOML (builtins.readFile (root + "/Cargo.toml"));
  pure = import ./lib { inherit cargoToml; };
  version = cargoToml.workspace.package.version;
  # The manifest's timestamp: the commit's date, not the build's.
  epoch = toString (self.lastModified or 1);

  pkgsFor =
    { localSystem, crossSystem }:
    import nixpkgs (
      {
        inherit localSystem;
        overlays = [ rust-overlay.overlays.default ];
      }
      // (if crossSystem == null then { } else { inherit crossSystem; })
    );
  # The one toolchain file, as plain cargo reads it.
  toolchainOf = p: p.rust-bin.fromRustupToolchainFile (root + "/rust-toolchain.toml");
  craneFor = pkgs: (crane.mkLib pkgs).overrideToolchain toolchainOf;

  src = (craneFor (pkgsFor { localSystem = "x86_64-linux"; crossSystem = null; })).cleanCargoSource root;
  commonArgs = triple: {
    inherit src version;
    strictDeps = true;
    CARGO_BUILD_TARGET = triple;
    postUnpack = ''
      mv "$NIX_BUILD_TOP/$sourceRoot" "$NIX_BUILD_TOP/${pure.sourceFolder}"
      sourceRoot=${pure.sourceFolder}
    '';
    preBuild = pure.reproducibleEnv;
  };

  # The binaries of one build mode (canonical or native) for one triple:
  # { packages.<name> = derivation; vendorDir; }.
  binariesFor =
    modes: triple:
    let
      mode = modes.${triple};
      pkgs = pkgsFor { inherit (mode) localSystem crossSystem; };
      craneLib = craneFor pkgs;
      groups = pure.depGroups triple;
    in
    {
      vendorDir = craneLib.vendorCargoDeps { inherit src; };
      packages = builtins.foldl' (
        acc: groupName:
        let
          deps = pkgs.callPackage ./release-deps.nix { inherit craneLib; } {
            commonArgs = commonArgs triple;
            name = "${groupName}-${triple}";
            group = groups.${groupName};
          };
        in
        acc
        // forEach groups.${groupName}.packages (
          package:
          pkgs.callPackage ./release-binary.nix { inherit craneLib; } {
            commonArgs = commonArgs triple;
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

  # "ipcamera-camerahub" -> the plan of target "ipcamera", profile "camerahub".
  planOf =
    pair:
    let
      m = builtins.match "([^-]+)-(.*)" pair;
    in
    pure.plan (builtins.elemAt m 0) (builtins.elemAt m 1);

  # A release folder for one target-profile pair in one build mode.
  folderFor =
    modeName: pair:
    let
      modes = modeSets.${modeName};
      plan = planOf pair;
      assemblySystem = modes.${builtins.head plan.triples}.localSystem;
      pkgs = pkgsFor { localSystem = assemblySystem; crossSystem = null; };
      toolchain = toolchainOf pkgs;
      built = builtins.listToAttrs (
        map (a: {
          name = a.binPath;
          value = binaries.${modeName}.${a.triple}.packages.${a.package};
        }) plan.artifacts
      );
    in
    pkgs.callPackage ./release-folder.nix { } {
      name = "camhub-${pair}${if modeName == "canonical" then "" else "-aarch64-native"}";
      inherit plan toolchain epoch;
      binaries = built;
      repro = reproFor pkgs;
      # Both triples may share one vendor dir; name each once.
      vendorDirs = builtins.attrValues (
        builtins.listToAttrs (
          map (t: {
            name = builtins.unsafeDiscardStringContext "${binaries.${modeName}.${t}.vendorDir}";
            value = binaries.${modeName}.${t}.vendorDir;
          }) plan.triples
        )
      );
      manifestArgs = pure.manifestCommand {
        out = "$out";
        workspace = "${src}";
        inherit plan modes;
        rustDigest = "nix:${builtins.baseNameOf "${toolchain}"}";
      };
    };
  pairsWithAarch64 = builtins.filter (
    pair:
    builtins.elem "aarch64-unknown-linux-gnu" (
      planOf pair
    ).triples
  ) pure.validPairs;
  releaseFolders =
    forEach pure.validPairs (folderFor "canonical")
    // builtins.listToAttrs (
      map (pair: {
        name = "${pair}-aarch64-native";
        value = folderFor "native" pair;
      }) pairsWithAarch64
    );

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
      hostTriple = if system == "x86_64-linux" then "x86_64-unknown-linux-gnu" else "aarch64-unknown-linux-gnu";
      hostArgs = commonArgs hostTriple // {
        # Checks build for the machine they run on.
        CARGO_BUILD_TARGET = hostTriple;
      };
      depsFor = scope: craneLib.buildDepsOnly (hostArgs // { inherit (scope) cargoExtraArgs; pname = "camhub-check-deps-${scope.name}"; });
      checkList =
        [
          {
            name = "rustfmt";
            drv = craneLib.cargoFmt { inherit src; };
          }
        ]
        ++ builtins.concatLists (
          map
            (kind: map (scope: {
              name = "${kind.name}-${scope.name}";
              drv = kind.run (hostArgs // { inherit (scope) cargoExtraArgs; cargoArtifacts = depsFor scope; } // kind.args);
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
            drv =
              let
                artifact = builtins.head (pure.plan "ipcamera" "all").artifacts;
              in
              pkgs.callPackage ./noise-check.nix { } {
                binary = binaries.canonical.${artifact.triple}.packages.${artifact.package};
                inherit artifact repro;
              };
          }
        ];
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
