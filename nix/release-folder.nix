# A release folder: `manifest.json` + `<triple>/<bin>` (regular files, not
# links into other store paths), described by `repro manifest`. It refuses
# to finish if a binary still names the toolchain or the vendored sources.
{ runCommand }:
{
  name,
  plan,
  binaries,
  repro,
  toolchain,
  vendorDirs,
  manifestArgs,
  epoch,
}:
let
  quote = builtins.toJSON;
  install = builtins.concatStringsSep "\n" (
    map (
      a: "install -D -m 0755 ${quote "${binaries.${a.binPath}}/bin/${a.cargoBin}"} \"$out/${a.binPath}\""
    ) plan.artifacts
  );
  forbidden = [ toolchain ] ++ vendorDirs;
  scan = builtins.concatStringsSep "\n" (
    map (path: ''
      if grep -rlF ${quote "${path}"} "$out"; then
        echo "the binaries above still contain ${path}; a release must not depend on the build's store paths" >&2
        exit 1
      fi'') forbidden
  );
in
runCommand name
  {
    nativeBuildInputs = [
      repro
      toolchain
    ];
    # The manifest's timestamp: the source's date (the commit), not the build's.
    SOURCE_DATE_EPOCH = epoch;
    disallowedReferences = forbidden;
    passthru = { inherit plan binaries; };
  }
  ''
    ${install}
    ${scan}
    # cargo metadata (crate versions) wants a writable CARGO_HOME.
    export CARGO_HOME="$TMPDIR/cargo-home"
    repro ${builtins.concatStringsSep " " (map quote manifestArgs)}
  ''
