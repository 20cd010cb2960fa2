# A release folder: `manifest.json` + `<triple>/<bin>` (regular files, not
# links into other store paths), described by `repro manifest`. It must run on
# a stock Linux without Nix, so it may refer to no store path at all
# (allowedReferences), and `repro portable` checks every binary's ELF: static
# or the standard interpreter, no RUNPATH, no store path, no glibc symbol newer
# than the floor. A clear message names a toolchain or vendor dir left behind.
{ runCommand }:
{
  name,
  plan,
  binaries,
  repro,
  # every toolchain that built a binary of the folder, and the one whose
  # cargo reads the workspace for `repro manifest`
  toolchains,
  vendorDirs,
  manifestArgs,
  epoch,
  glibcFloor,
}:
let
  quote = builtins.toJSON;
  install = builtins.concatStringsSep "\n" (
    map (
      a: "install -D -m 0755 ${quote "${binaries.${a.binPath}}/bin/${a.cargoBin}"} \"$out/${a.binPath}\""
    ) plan.artifacts
  );
  forbidden = toolchains ++ vendorDirs;
  scan = builtins.concatStringsSep "\n" (
    map (path: ''
      # grep: 0 found, 1 not found, anything else is an error, never a pass
      status=0
      grep -rlF ${quote "${path}"} "$out" || status=$?
      if [ "$status" = 0 ]; then
        echo "the files above still contain ${path}; a release must not depend on the build's store paths" >&2
        exit 1
      elif [ "$status" != 1 ]; then
        echo "grep could not scan $out for ${path} (status $status)" >&2
        exit 1
      fi'') forbidden
  );
in
runCommand name
  {
    nativeBuildInputs = [ repro ] ++ toolchains;
    # The manifest's timestamp: the source's date (the commit), not the build's.
    SOURCE_DATE_EPOCH = epoch;
    allowedReferences = [ ];
    passthru = { inherit plan binaries toolchains; };
  }
  ''
    ${install}
    ${scan}
    # cargo metadata (crate versions) wants a writable CARGO_HOME.
    export CARGO_HOME="$TMPDIR/cargo-home"
    repro ${builtins.concatStringsSep " " (map quote manifestArgs)}
    repro portable "$out" --glibc-floor ${quote glibcFloor}
  ''
