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
  # A clean checkout: the flake's self has the commit.
  rev = "0123456789abcdef0123456789abcdef01234567";
  outAtRev = flake.outputs {
    self = {
      outPath = ../..;
      lastModified = 1700000000;
      inherit rev;
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
            pkgs = { inherit (modes.${a.triple}) localSystem crossSystem; targetSystem = modes.${a.triple}.crossSystem; };
            system = modes.${a.triple}.localSystem;
            wrapper = true;
            depsWrapper = b.RUSTC_WRAPPER;
            staticGlibc = [ "glibc-static-for-${if modes.${a.triple}.crossSystem == null then modes.${a.triple}.localSystem else modes.${a.triple}.crossSystem}" ];
            toolchainChannel = "1.95.0";
            depsFn = "buildDepsOnly";
            depsArgs = groupArgs a.triple a.package;
            depsTarget = a.triple;
            doCheck = false;
            preBuild = lib.reproducibleEnv;
            renamesSource = true;
          };
          actual = {
            inherit (b) craneFn cargoExtraArgs CARGO_BUILD_TARGET pkgs doCheck preBuild system;
            wrapper = builtins.match "/nix/store/.*-camhub-rustc-remap" b.RUSTC_WRAPPER != null;
            depsWrapper = b.cargoArtifacts.RUSTC_WRAPPER;
            staticGlibc = map (d: d.name) b.buildInputs;
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
    name = "dependencies are built once per triple, crate and feature set, and shared across pairs";
    expected = {
      configAndServerApart = true;
      acrossPairs = true;
      hubFeaturesApart = true;
    };
    actual =
      let
        deps = pair: binPath: packages.${pair}.binaries.${binPath}.cargoArtifacts.outPath;
      in
      {
        configAndServerApart = deps "ipcamera-all" "${x86}/camhub-config" != deps "ipcamera-all" "${x86}/camhub-server";
        acrossPairs = deps "ipcamera-all" "${arm}/camhub-ip" == deps "all-release" "${arm}/camhub-ip";
        hubFeaturesApart = deps "all-all" "${arm}/camhub-ip" != deps "all-all" "${arm}/camhub-raspberry";
      };
  }
  {
    name = "the release folder copies binaries, refuses every store reference, names each triple's toolchain and checks portability";
    expected = {
      epoch = "1700000000";
      installsHub = true;
      manifestLine = true;
      allowedReferences = [ ];
      forbidsBothToolchains = [ "rust-toolchain-for-x86_64-linux" "rust-toolchain-for-x86_64-linux-to-aarch64-linux" ];
      portable = true;
      noStorePathInArgs = true;
    };
    actual =
      let
        f = packages.ipcamera-camerahub;
        digest = t: lib.rustDigest f.binaries."${t}/camhub-ip".toolchain;
      in
      {
        epoch = f.env.SOURCE_DATE_EPOCH;
        installsHub = builtins.match ".*install -D -m 0755 \"[^\"]*-camhub-bin-ip_camera_hub-${arm}/bin/camera_hub\" \"\\$out/${arm}/camhub-ip\".*" f.script != null;
        manifestLine = builtins.match ".*repro \"manifest\" \"\\$out\" \"--workspace\" \"/nix/store/[^\"]*-source\" \"--target\" \"ipcamera\" \"--profile\" \"camerahub\" \"--run-id\" \"nix\" \"--rust-digest\" \"${x86}=${digest x86}\" \"--build-mode\" \"${x86}=nix-native-x86_64-linux\" \"--rust-digest\" \"${arm}=${digest arm}\" \"--build-mode\" \"${arm}=nix-cross-from-x86_64-linux\" \"--release-version\" \"${cargoToml.workspace.package.version}\"\n.*" f.script != null;
        inherit (f.env) allowedReferences;
        forbidsBothToolchains = builtins.sort builtins.lessThan (map (d: d.name) f.toolchains);
        portable = builtins.match ".*repro portable \"\\$out\" --glibc-floor \"2.36\".*" f.script != null;
        # A store hash in manifest.json would be a reference to the toolchain.
        noStorePathInArgs = builtins.all (t: builtins.match ".*/nix/store/.*" (digest t) == null && builtins.match "nix:rust-toolchain-for-.*@sha256:[0-9a-f]{64}" (digest t) != null) [ x86 arm ];
      };
  }
  {
    name = "the manifest names the release version always and the source commit when the flake has one (a dirty tree has none)";
    expected = {
      clean = true;
      dirty = false;
    };
    actual =
      let
        revArgs = f: builtins.match ".*repro \"manifest\" [^\n]* \"--release-version\" \"${cargoToml.workspace.package.version}\" \"--source-rev\" \"${rev}\"\n.*" f.script != null;
      in
      {
        clean = revArgs outAtRev.packages.x86_64-linux.ipcamera-camerahub;
        dirty = revArgs packages.ipcamera-camerahub;
      };
  }
  {
    name = "each triple's rust_digest is the toolchain that built it: cross and native aarch64 differ from x86_64";
    expected = [ true true true ];
    actual =
      let
        tc = folder: t: folder.binaries."${t}/camhub-ip".toolchain.name;
        canon = packages.ipcamera-camerahub;
        native = packages.ipcamera-camerahub-aarch64-native;
      in
      [
        (tc canon x86 == "rust-toolchain-for-x86_64-linux")
        (tc canon arm == "rust-toolchain-for-x86_64-linux-to-aarch64-linux")
        (tc native arm == "rust-toolchain-for-aarch64-linux")
      ];
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
      names = [ "clippy-camera-hub-ip" "clippy-camera-hub-raspberry" "clippy-workspace"
        "release-all-all" "release-all-release" "release-ipcamera-all" "release-ipcamera-camerahub"
        "release-raspberry-all" "release-raspberry-camerahub" "release-raspberry-core"
        "reproducible-under-noise" "rustfmt" "tests-camera-hub-ip" "tests-camera-hub-raspberry" "tests-workspace" ];
      armNames = [ "clippy-camera-hub-ip" "clippy-camera-hub-raspberry" "clippy-workspace"
        "release-raspberry-all-aarch64-native" "release-raspberry-camerahub-aarch64-native" "release-raspberry-core-aarch64-native"
        "reproducible-under-noise" "rustfmt" "tests-camera-hub-ip" "tests-camera-hub-raspberry" "tests-workspace" ];
      pnames = true;
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
        armNames = builtins.attrNames out.checks.aarch64-linux;
        pnames = builtins.all (n: builtins.match "camhub-.*" c.${n}.pname != null) [ "rustfmt" "clippy-workspace" "tests-workspace" ];
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
      armNativeBinary = true;
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
        # on aarch64-linux, the one built there (the canonical one is cross-built on x86_64)
        armNativeBinary = out.checks.aarch64-linux.reproducible-under-noise.binary.outPath == packages.ipcamera-all-aarch64-native.binaries."${arm}/camhub-ip".outPath;
      };
  }
  {
    name = "every check builds on the system it is listed under, the noise check's binaries and the folders' too";
    expected = [ ];
    actual = builtins.concatLists (
      map (
        system:
        let
          c = out.checks.${system};
          builds = name: drv:
            [ { inherit name; inherit (drv) system; } ]
            ++ (if drv ? binary then [ { name = "${name}.binary"; inherit (drv.binary) system; } { name = "${name}.noisy"; inherit (drv.noisy) system; } ] else [ ])
            ++ (if drv ? binaries then map (p: { name = "${name} ${p}"; inherit (drv.binaries.${p}) system; }) (builtins.attrNames drv.binaries) else [ ]);
        in
        builtins.filter (x: x.system != system) (builtins.concatLists (map (n: builds n c.${n}) (builtins.attrNames c)))
      ) [ "x86_64-linux" "aarch64-linux" ]
    );
  }
  {
    name = "the source is crane's cleaned Cargo source plus the --json schemas and the fuzz inputs the tests read";
    expected = [ true true true false false true false ];
    actual = map (p: packages.repro.src.filter p "regular") [
      "/w/tools/src/main.rs"
      "/w/Cargo.lock"
      "/w/tools/schemas/compare.schema.json"
      "/w/README.md"
      "/w/tools/schemas/notes.json"
      "/w/fuzz/regressions/manifest/crash-1"
      "/w/fuzz/corpus/manifest/1"
    ];
  }
  {
    name = "repro itself is built by crane from the workspace";
    expected = "--locked -p repro";
    actual = packages.repro.cargoExtraArgs;
  }
]
