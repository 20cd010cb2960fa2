# One released binary: one package for one triple, built by crane on top of
# its dependency group's cargo artifacts. Called through `callPackage` of the
# package set for the triple's build mode, so cross-compilation splices.
{ craneLib, removeReferencesTo }:
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
    nativeBuildInputs = (commonArgs.nativeBuildInputs or [ ]) ++ [ removeReferencesTo ];
    # A static binary runs where there is no /nix/store, but static glibc
    # still names its own store path (its gconv and locale folders, which our
    # programs never use). Crane has removed the toolchain and vendored
    # sources; neuter whatever store path is left, so the release folder can
    # forbid every reference.
    postInstall = ''
      for ref in $(cat "$out"/bin/* | grep -aoE "$NIX_STORE/[a-z0-9]{32}-[^/\"' ]*" | sort -u); do
        echo "removing the reference to $ref"
        remove-references-to -t "$ref" "$out"/bin/*
      done
    '';
  }
)
