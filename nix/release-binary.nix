# One released binary: one package for one triple, built by crane on top of
# its dependency group's cargo artifacts. Called through `callPackage` of the
# package set for the triple's build mode, so cross-compilation splices.
{ craneLib }:
{
  commonArgs,
  artifact,
  cargoArtifacts,
  cargoArgs,
}:
craneLib.buildPackage (
  commonArgs
  // {
    pname = "camhub-bin-${artifact.package}-${artifact.triple}";
    inherit cargoArtifacts;
    cargoExtraArgs = cargoArgs artifact;
    # Tests run in the checks; a release build only builds.
    doCheck = false;
  }
)
