# nix/release-folder.nix in a real nix-build, with stand-ins for what nixpkgs
# would give it: runCommand (a builder script run by a static busybox), the
# toolchain (a derivation holding the host's cargo, for `repro manifest`'s
# `cargo metadata`), repro (the host's build) and binaries made by the test
# (tests/nix/run). The build runs in Nix's sandbox; host libraries are bound in
# read-only (extra-sandbox-paths) only because the host's cargo and repro are
# dynamically linked. What is real: Nix's reference scanning and
# allowedReferences, the folder's scan, `repro manifest` and `repro portable`.
{
  # a folder holding busybox (static), bash, GNU grep, repro and cargo, copied by the test
  hostTools,
  # fixture workspace: Cargo.toml with a release matrix, Cargo.lock
  workspace,
  # folder with <triple>/<bin> files to install
  binaries,
  target,
  profile,
  # "pure": rust_digest from nix/lib; "store-path": the old `nix:<store path name>`
  digest ? "pure",
  # write the toolchain's store path into each binary, as a build that leaks it would
  embedToolchainPath ? false,
}:
let
  system = builtins.currentSystem;
  host = builtins.path { path = hostTools; name = "host-tools"; };
  tools = derivation {
    name = "stand-in-tools";
    inherit system;
    builder = "${host}/busybox";
    args = [ "sh" "-c" ''
      /${host}/busybox mkdir -p $out/bin
      for t in cat mkdir ls cp chmod dirname; do /${host}/busybox ln -s ${host}/busybox $out/bin/$t; done
      # bash and GNU grep, as in stdenv: busybox's sh runs its own grep
      # whatever PATH says, and that grep stops a line at a NUL byte, so it
      # misses strings in binaries
      /${host}/busybox ln -s ${host}/bash $out/bin/sh
      /${host}/busybox ln -s ${host}/grep $out/bin/grep
      # this busybox has no install applet: the `install -D -m MODE SRC DEST` the folder uses
      printf '%s\n' '#!${host}/busybox sh' 'set -e' '[ "$1" = -D ] && shift && d=1' '[ "$1" = -m ] && m=$2 && shift 2' \
        '[ -n "$d" ] && ${host}/busybox mkdir -p "$(${host}/busybox dirname "$2")"' \
        '${host}/busybox cp "$1" "$2"' '[ -n "$m" ] && ${host}/busybox chmod "$m" "$2"' 'exit 0' > $out/bin/install
      /${host}/busybox chmod +x $out/bin/install
    '' ];
  };
  runCommand =
    name: env: script:
    derivation (
      builtins.removeAttrs env [ "passthru" "nativeBuildInputs" ]
      // {
        inherit name system;
        builder = "${tools}/bin/sh";
        args = [ "-c" "set -eu\nset -o pipefail\n${script}" ];
        PATH = builtins.concatStringsSep ":" (map (d: "${d}/bin") ((env.nativeBuildInputs or [ ]) ++ [ tools ]));
      }
    );
  # A derivation holding one executable, $out/bin/<name>, copied from `from`.
  withBin =
    drvName: from: name: more:
    derivation {
      name = drvName;
      inherit system;
      builder = "${tools}/bin/sh";
      args = [ "-c" "mkdir -p $out/bin && install -m 0755 ${from} $out/bin/${name}${more}" ];
      PATH = "${tools}/bin";
    };
  toolchain = withBin "rust-minimal-1.95.0" "${host}/cargo" "cargo" "";
  repro = withBin "repro" "${host}/repro" "repro" "";
  pure = import ../../../nix/lib { cargoToml = builtins.fromTOML (builtins.readFile (workspace + "/Cargo.toml")); };
  plan = pure.plan target profile;
  src = builtins.path { path = workspace; name = "source"; };
  bins = builtins.path { path = binaries; name = "binaries"; };
  perBinary = builtins.listToAttrs (
    map (a: {
      name = a.binPath;
      value = withBin "camhub-bin-${a.package}-${a.triple}" "${bins}/${a.binPath}" a.cargoBin (
        if embedToolchainPath then " && echo ${toolchain}/lib >> $out/bin/${a.cargoBin}" else ""
      );
    }) plan.artifacts
  );
  rustDigest = if digest == "pure" then pure.rustDigest toolchain else "nix:${baseNameOf "${toolchain}"}";
in
import ../../../nix/release-folder.nix { inherit runCommand; } {
  name = "camhub-${target}-${profile}";
  inherit plan repro;
  binaries = perBinary;
  toolchains = [ toolchain ];
  vendorDirs = [ ];
  epoch = "1700000000";
  glibcFloor = pure.matrix.glibc_floor;
  manifestArgs = pure.manifestCommand {
    out = "$out";
    workspace = "${src}";
    inherit plan;
    modes = pure.buildModes.canonical;
    rustDigests = builtins.listToAttrs (map (t: { name = t; value = rustDigest; }) plan.triples);
  };
}
