# The cargo arguments that select one artifact (crane's `cargoExtraArgs`):
# the same crate and features `repro build` passes.
artifact:
builtins.concatStringsSep " " (
  [
    "--locked"
    "-p"
    artifact.crate
  ]
  ++ (
    if artifact.features == [ ] then
      [ ]
    else
      [
        "--features"
        (builtins.concatStringsSep "," artifact.features)
      ]
  )
)
