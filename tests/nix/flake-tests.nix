# The whole flake's output tree, evaluated with test doubles of nixpkgs, crane
# and rust-overlay (tests/nix/doubles): package, app and check names, and the
# arguments given to crane for every artifact. The doubles only record; what
# crane and nixpkgs then do with these arguments is checked by the users' CI.
let
  flake = import ../../flake.nix;
  out = flake.outputs {
    self = {
      outPath = ../..;
      lastModified = 1700000000;
    };
    nixpkgs = ./doubles/nixpkgs.nix;
    crane = import ./doubles/crane.nix;
    rust-overlay = import ./doubles/rust-overlay.nix;
  };
  cargoToml = builtins.fromTOML (builtins.readFile ../../Cargo.toml);
  lib = import ../../nix/lib { inherit cargoToml; };
  x86 = "x86_64-unknown-linux-gnu";
  arm = "aarch64-unknown-linux-gnu";
  packages = out.packages.x86_64-linux;
  pairOf = pair: {
    target = builtins.head (builtins.match "([^-]+)-.*" pair);
    profile = builtins.head (builtins.match "[^-]+-(.*)" pair);
  };
  groupArgs = triple: package:
    let
      groups = lib.depGroups triple;
    in
    (builtins.head (builtins.filter (g: builtins.elem package g.packages) (builtins.attrValues groups))).cargoExtraArgs;
  # Every way an artifact's crane arguments differ from what the matrix says.
  artifactProblems =
    variant: modes: pair:
    let
      p = pairOf pair;
      plan = lib.plan p.target p.profile;
      folder = packages.${pair + variant};
    in
    builtins.concatLists (
      map (
        a:
        let
          b = folder.binaries.${a.binPath};
          expected = {
            craneFn = "buildPackage";
            cargoExtraArgs = lib.cargoArgs a;
            CARGO_BUILD_TARGET = a.triple;
            pkgs = { inherit (modes.${a.triple}) localSystem crossSystem; };
            toolchainChannel = "1.95.0";
            depsFn = "buildDepsOnly";
            depsArgs = groupArgs a.triple a.package;
            depsTarget = a.triple;
            doCheck = false;
            preBuild = lib.reproducibleEnv;
            renamesSource = true;
          };
          actual = {
            inherit (b) craneFn cargoExtraArgs CARGO_BUILD_TARGET pkgs doCheck preBuild;
            toolchainChannel = b.toolchain.toolchainFile.toolchain.channel;
            depsFn = b.cargoArtifacts.craneFn;
            depsArgs = b.cargoArtifacts.cargoExtraArgs;
            depsTarget = b.cargoArtifacts.CARGO_BUILD_TARGET;
            renamesSource = builtins.match ".*sourceRoot=camhub-source.*" b.postUnpack != null;
          };
        in
        if expected == actual then [ ] else [ { "${pair}${variant} ${a.binPath}" = { inherit expected actual; }; } ]
      ) plan.artifacts
    );
  quote = builtins.toJSON;
in
[
  {
    name = "inputs: nixpkgs 26.05, crane, rust-overlay following nixpkgs";
    expected = {
      nixpkgs = "github:NixOS/nixpkgs/nixos-26.05";
      crane = "github:ipetkov/crane";
      rust-overlay = "github:oxalica/rust-overlay";
      follows = "nixpkgs";
    };
    actual = {
      nixpkgs = flake.inputs.nixpkgs.url;
      crane = flake.inputs.crane.url;
      rust-overlay = flake.inputs.rust-overlay.url;
      follows = flake.inputs.rust-overlay.inputs.nixpkgs.follows;
    };
  }
  {
    name = "every output exists for x86_64-linux and aarch64-linux";
    expected = [ [ "aarch64-linux" "x86_64-linux" ] [ "aarch64-linux" "x86_64-linux" ] [ "aarch64-linux" "x86_64-linux" ] [ "aarch64-linux" "x86_64-linux" ] [ "aarch64-linux" "x86_64-linux" ] ];
    actual = map builtins.attrNames [ out.packages out.apps out.checks out.devShells out.formatter ];
  }
  {
    name = "packages: every valid pair, its aarch64-native variant, default and repro";
    expected = [
      "all-all" "all-all-aarch64-native" "all-release" "all-release-aarch64-native" "default"
      "ipcamera-all" "ipcamera-all-aarch64-native" "ipcamera-camerahub" "ipcamera-camerahub-aarch64-native"
      "raspberry-all" "raspberry-all-aarch64-native" "raspberry-camerahub" "raspberry-camerahub-aarch64-native"
      "raspberry-core" "raspberry-core-aarch64-native" "repro"
    ];
    actual = builtins.attrNames packages;
  }
  {
    name = "default is all-release, and the canonical folders are the same derivations on every system";
    expected = {
      default = packages.all-release.outPath;
      sameOnArm = true;
    };
    actual = {
      default = packages.default.outPath;
      sameOnArm = builtins.all (pair: out.packages.aarch64-linux.${pair}.outPath == packages.${pair}.outPath) lib.validPairs;
    };
  }
  {
    name = "each release folder holds exactly its plan's binaries";
    expected = map (pair: let p = pairOf pair; in builtins.sort builtins.lessThan (map (a: a.binPath) (lib.plan p.target p.profile).artifacts)) lib.validPairs;
    actual = map (pair: builtins.attrNames packages.${pair}.binaries) lib.validPairs;
  }
  {
    name = "canonical: crane gets the matrix's crate, features and triple, the toolchain file, its deps group, and the flags";
    expected = [ ];
    actual = builtins.concatLists (map (artifactProblems "" lib.buildModes.canonical) lib.validPairs);
  }
  {
    name = "aarch64-native variants build aarch64 on aarch64-linux";
    expected = [ ];
    actual = builtins.concatLists (
      map (artifactProblems "-aarch64-native" lib.buildModes.native) (
        builtins.filter (pair: packages ? "${pair}-aarch64-native") lib.validPairs
      )
    );
  }
  {
    name = "dependencies are built once per triple and feature set, and shared across pairs";
    expected = {
      configAndServer = true;
      acrossPairs = true;
      hubFeaturesApart = true;
    };
    actual =
      let
        deps = pair: binPath: packages.${pair}.binaries.${binPath}.cargoArtifacts.outPath;
      in
      {
        configAndServer = deps "ipcamera-all" "${x86}/camhub-config" == deps "ipcamera-all" "${x86}/camhub-server";
        acrossPairs = deps "ipcamera-all" "${arm}/camhub-ip" == deps "all-release" "${arm}/camhub-ip";
        hubFeaturesApart = deps "all-all" "${arm}/camhub-ip" != deps "all-all" "${arm}/camhub-raspberry";
      };
  }
  {
    name = "the release folder copies binaries, scans for store paths and runs repro manifest";
    expected = {
      epoch = "1700000000";
      installsHub = true;
      manifestLine = true;
      forbidsToolchain = true;
    };
    actual =
      let
        f = packages.ipcamera-camerahub;
      in
      {
        epoch = f.env.SOURCE_DATE_EPOCH;
        installsHub = builtins.match ".*install -D -m 0755 \"[^\"]*-camhub-bin-ip_camera_hub-${arm}/bin/camera_hub\" \"\\$out/${arm}/camhub-ip\".*" f.script != null;
        manifestLine = builtins.match ".*repro \"manifest\" \"\\$out\" \"--workspace\" \"/nix/store/[^\"]*-source\" \"--target\" \"ipcamera\" \"--profile\" \"camerahub\" \"--rust-digest\" \"nix:[^\"]*-rust-toolchain-for-x86_64-linux\" \"--run-id\" \"nix\" \"--build-mode\" \"${x86}=nix-native-x86_64-linux\" \"--build-mode\" \"${arm}=nix-cross-from-x86_64-linux\"\n.*" f.script != null;
        forbidsToolchain = builtins.any (d: d.name == "rust-toolchain-for-x86_64-linux") f.env.disallowedReferences;
      };
  }
  {
    name = "apps: compare runs repro compare, test-reproduce rebuilds with --rebuild --keep-failed";
    expected = {
      names = [ "compare" "test-reproduce" ];
      types = [ "app" "app" ];
      compare = true;
      rebuild = true;
    };
    actual =
      let
        apps = out.apps.x86_64-linux;
      in
      {
        names = builtins.attrNames apps;
        types = map (a: a.type) (builtins.attrValues apps);
        compare = builtins.match ".*/bin/compare" apps.compare.program != null;
        rebuild = builtins.match ".*--rebuild --keep-failed.*" (import ../../nix/test-reproduce.nix { writeShellScriptBin = n: t: t; } { repro = "/repro"; }) != null;
      };
  }
  {
    name = "checks: rustfmt, clippy and tests per scope, and the noise reproducibility check";
    expected = {
      names = [ "clippy-camera-hub-ip" "clippy-camera-hub-raspberry" "clippy-workspace" "reproducible-under-noise" "rustfmt" "tests-camera-hub-ip" "tests-camera-hub-raspberry" "tests-workspace" ];
      clippyArgs = "--all-targets -- -D warnings";
      clippyScope = "--locked -p camera_hub --features raspberry";
      testsFn = "cargoNextest";
      noise = true;
      armChecksBuildForArm = "aarch64-unknown-linux-gnu";
    };
    actual =
      let
        c = out.checks.x86_64-linux;
      in
      {
        names = builtins.attrNames c;
        clippyArgs = c.clippy-workspace.cargoClippyExtraArgs;
        clippyScope = c.clippy-camera-hub-raspberry.cargoExtraArgs;
        testsFn = c.tests-workspace.craneFn;
        noise = builtins.match ".*repro compare /nix/store/[^ ]*-plain /nix/store/[^ ]*-noisy.*" c.reproducible-under-noise.script != null;
        armChecksBuildForArm = out.checks.aarch64-linux.tests-workspace.CARGO_BUILD_TARGET;
      };
  }
  {
    name = "the noise check varies time zone, locale, umask, jobs and the build folder's name";
    expected = {
      TZ = "Pacific/Chatham";
      CARGO_BUILD_JOBS = "1";
      umask = true;
      renamed = true;
      sameArtifact = true;
      canonicalBinary = true;
    };
    actual =
      let
        check = out.checks.x86_64-linux.reproducible-under-noise;
        inherit (check) binary noisy;
      in
      {
        inherit (noisy) TZ CARGO_BUILD_JOBS;
        umask = builtins.match "umask 077\n.*" noisy.preBuild != null;
        renamed = builtins.match ".*sourceRoot=another-build-folder-name.*" noisy.postUnpack != null;
        sameArtifact = noisy.cargoExtraArgs == binary.cargoExtraArgs && noisy.cargoArtifacts.outPath == binary.cargoArtifacts.outPath;
        canonicalBinary = binary.outPath == packages.ipcamera-all.binaries."${x86}/camhub-ip".outPath;
      };
  }
  {
    name = "repro itself is built by crane from the workspace";
    expected = "--locked -p repro";
    actual = packages.repro.cargoExtraArgs;
  }
]
