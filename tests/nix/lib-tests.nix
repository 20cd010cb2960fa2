# Evaluation tests of the pure Nix functions in nix/lib against exact values.
# Each entry: { name; expected; actual; }. Run by tests/nix/run.
let
  cargoToml = builtins.fromTOML (builtins.readFile ../../Cargo.toml);
  lib = import ../../nix/lib { inherit cargoToml; };
  x86 = "x86_64-unknown-linux-gnu";
  arm = "aarch64-unknown-linux-gnu";
  unitSeparator = builtins.fromJSON ''"\u001f"'';
  binPaths = plan: map (a: a.binPath) plan.artifacts;
  tryPlan = target: profile: builtins.tryEval (builtins.deepSeq (lib.plan target profile) true);
in
[
  {
    name = "valid pairs are generated from the matrix";
    expected = [ "all-all" "all-release" "ipcamera-all" "ipcamera-camerahub" "raspberry-all" "raspberry-camerahub" "raspberry-core" ];
    actual = lib.validPairs;
  }
  {
    name = "all-all: triples in order, aarch64-only packages skipped for x86_64";
    expected = {
      triples = [ x86 arm ];
      binPaths = [
        "${x86}/camhub-ip" "${x86}/camhub-config" "${x86}/camhub-server"
        "${arm}/camhub-update" "${arm}/camhub-reset" "${arm}/camhub-raspberry" "${arm}/camhub-ip" "${arm}/camhub-config" "${arm}/camhub-server"
      ];
      skipped = [ "update" "reset" "raspberry_camera_hub" ];
    };
    actual =
      let
        p = lib.plan "all" "all";
      in
      {
        inherit (p) triples;
        binPaths = binPaths p;
        skipped = map (s: s.package) p.skipped;
      };
  }
  {
    name = "raspberry-core keeps the profile's package order";
    expected = [ "${arm}/camhub-raspberry" "${arm}/camhub-reset" "${arm}/camhub-update" ];
    actual = binPaths (lib.plan "raspberry" "core");
  }
  {
    name = "an invalid pair is an error";
    expected = false;
    actual = (tryPlan "ipcamera" "core").success;
  }
  {
    name = "one artifact: crate, features, cargo binary and release name";
    expected = {
      package = "raspberry_camera_hub";
      name = "raspberry_camera_hub";
      triple = arm;
      crate = "camera_hub";
      features = [ "raspberry" ];
      cargoBin = "camera_hub";
      bin = "camhub-raspberry";
      binPath = "${arm}/camhub-raspberry";
    };
    actual = lib.artifact "raspberry_camera_hub" arm;
  }
  {
    name = "cargo arguments select crate and features";
    expected = [ "--locked -p camera_hub --features ip" "--locked -p server" ];
    actual = [ (lib.cargoArgs (lib.artifact "ip_camera_hub" x86)) (lib.cargoArgs (lib.artifact "server" x86)) ];
  }
  {
    name = "dependency groups: one per triple, crate and feature set, with exactly the binary's cargo arguments";
    expected = {
      x86 = {
        "camera_hub+ip" = { packages = [ "ip_camera_hub" ]; cargoExtraArgs = "--locked -p camera_hub --features ip"; };
        config_tool = { packages = [ "config_tool" ]; cargoExtraArgs = "--locked -p config_tool"; };
        server = { packages = [ "server" ]; cargoExtraArgs = "--locked -p server"; };
      };
      arm = [ "camera_hub+ip" "camera_hub+raspberry" "config_tool" "reset" "server" "update" ];
    };
    actual = {
      x86 = lib.depGroups x86;
      arm = builtins.attrNames (lib.depGroups arm);
    };
  }
  {
    name = "canonical build modes: both triples from x86_64-linux, aarch64 cross-compiled";
    expected = {
      x86 = { localSystem = "x86_64-linux"; crossSystem = null; mode = "nix-native-x86_64-linux"; };
      arm = { localSystem = "x86_64-linux"; crossSystem = "aarch64-linux"; mode = "nix-cross-from-x86_64-linux"; };
      armNative = { localSystem = "aarch64-linux"; crossSystem = null; mode = "nix-native-aarch64-linux"; };
    };
    actual = {
      x86 = lib.buildModes.canonical.${x86};
      arm = lib.buildModes.canonical.${arm};
      armNative = lib.buildModes.native.${arm};
    };
  }
  {
    name = "the reproducible flags: constant ones to cargo, path-bound ones where cargo does not fingerprint them";
    expected = builtins.concatStringsSep "\n" [
      "export CAMHUB_TARGET_DIR=\"$PWD/target\""
      "export CARGO_ENCODED_RUSTFLAGS=\"-Clink-arg=-Wl,--build-id=none${unitSeparator}-Ctarget-feature=+crt-static\""
      "export NIX_CFLAGS_COMPILE=\"\${NIX_CFLAGS_COMPILE:-}\${NIX_CFLAGS_COMPILE:+ }-ffile-prefix-map=\${NIX_BUILD_TOP:?}=/build/source -ffile-prefix-map=\${cargoVendorDir:?}=/build/cargo-home -ffile-prefix-map=\${CAMHUB_TARGET_DIR:?}=/build/target\""
      "export CARGO_INCREMENTAL=\"0\""
      ""
    ];
    actual = lib.reproducibleEnv;
  }
  {
    name = "the rustc wrapper adds the path-bound rustflags in the matrix's order (target dir last)";
    expected = "exec \"$@\" \\\n  \"--remap-path-prefix=\${NIX_BUILD_TOP:?}=/build/source\" \\\n  \"--remap-path-prefix=\${cargoVendorDir:?}=/build/cargo-home\" \\\n  \"--remap-path-prefix=\${CAMHUB_TARGET_DIR:?}=/build/target\"\n";
    actual = lib.rustcRemapScript;
  }
  {
    name = "a flag's own shell characters are escaped; only placeholders expand";
    expected = "-Dx=\\\"\\$HOME\\`\\\\ \${NIX_BUILD_TOP:?}";
    actual = import ../../nix/lib/bind-flag.nix "-Dx=\"$HOME`\\ {workspace}";
  }
  {
    name = "rust_digest names the toolchain without its store hash (which would be a reference)";
    expected = "nix:rust-minimal-1.95.0@sha256:${builtins.hashString "sha256" "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-rust-minimal-1.95.0"}";
    actual = lib.rustDigest { name = "rust-minimal-1.95.0"; outPath = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-rust-minimal-1.95.0"; };
  }
  {
    name = "the manifest command records target, profile, each triple's toolchain and build mode";
    expected = [
      "manifest" "$out" "--workspace" "/src" "--target" "ipcamera" "--profile" "camerahub" "--run-id" "nix"
      "--rust-digest" "${x86}=nix:x" "--build-mode" "${x86}=nix-native-x86_64-linux"
      "--rust-digest" "${arm}=nix:a" "--build-mode" "${arm}=nix-cross-from-x86_64-linux"
    ];
    actual = lib.manifestCommand {
      out = "$out";
      workspace = "/src";
      plan = lib.plan "ipcamera" "camerahub";
      rustDigests = { ${x86} = "nix:x"; ${arm} = "nix:a"; };
      modes = lib.buildModes.canonical;
    };
  }
  {
    name = "the manifest command passes the release version and the source commit when known";
    expected = [
      "manifest" "$out" "--workspace" "/src" "--target" "raspberry" "--profile" "core" "--run-id" "nix"
      "--rust-digest" "${arm}=nix:a" "--build-mode" "${arm}=nix-cross-from-x86_64-linux"
      "--release-version" "1.2.3" "--source-rev" "0123456789abcdef0123456789abcdef01234567"
    ];
    actual = lib.manifestCommand {
      out = "$out";
      workspace = "/src";
      plan = lib.plan "raspberry" "core";
      rustDigests = { ${arm} = "nix:a"; };
      modes = lib.buildModes.canonical;
      version = "1.2.3";
      sourceRev = "0123456789abcdef0123456789abcdef01234567";
    };
  }
  {
    name = "release folders: each pair, an aarch64-native variant where it ships aarch64, and where each builds";
    expected = [
      [ "all-all" "canonical" [ "x86_64-linux" ] ]
      [ "all-all-aarch64-native" "native" [ "aarch64-linux" "x86_64-linux" ] ]
      [ "raspberry-core" "canonical" [ "x86_64-linux" ] ]
      [ "raspberry-core-aarch64-native" "native" [ "aarch64-linux" ] ]
    ];
    actual = map (f: [ f.name f.modeName f.systems ]) (
      builtins.filter (f: builtins.elem f.pair [ "all-all" "raspberry-core" ]) lib.releaseFolders
    );
  }
  {
    name = "clippy and tests cover camera_hub once per feature";
    expected = [
      { name = "workspace"; cargoExtraArgs = "--locked --workspace --exclude camera_hub"; }
      { name = "camera-hub-ip"; cargoExtraArgs = "--locked -p camera_hub --features ip"; }
      { name = "camera-hub-raspberry"; cargoExtraArgs = "--locked -p camera_hub --features raspberry"; }
    ];
    actual = lib.testScopes;
  }
]
