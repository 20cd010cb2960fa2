# Every "<target>-<profile>" of the release matrix, sorted: the package names.
{ matrix }:
builtins.concatLists (
  map (
    target: map (profile: "${target}-${profile}") (builtins.attrNames matrix.targets.${target}.profiles)
  ) (builtins.attrNames matrix.targets)
)
