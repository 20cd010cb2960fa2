# The dependencies of one group (a triple and feature set), built once with
# crane's buildDepsOnly and reused by every binary of the group.
{ craneLib }:
{
  commonArgs,
  name,
  group,
}:
craneLib.buildDepsOnly (
  commonArgs
  // {
    pname = "camhub-deps-${name}";
    inherit (group) cargoExtraArgs;
    doCheck = false;
  }
)
