# How dependencies are shared: one `buildDepsOnly` per triple, crate and
# feature set, with exactly the cargo arguments of the binaries built on it.
# Building several crates at once would unify their dependencies' features
# (cargo resolves features for the whole selection), so a binary built alone
# would see other feature sets and compile those dependencies again. Groups
# span every package of the matrix, so one deps derivation serves every target
# and profile that ships the crate.
{ matrix }:
triple:
let
  names = builtins.filter (
    name: !(matrix.packages.${name} ? triples) || builtins.elem triple matrix.packages.${name}.triples
  ) (builtins.attrNames matrix.packages);
  groupName =
    name:
    let
      p = matrix.packages.${name};
    in
    if p.features == [ ] then p.crate else "${p.crate}+${builtins.concatStringsSep "," p.features}";
  groupNames = builtins.attrNames (builtins.listToAttrs (map (n: { name = groupName n; value = null; }) names));
in
builtins.listToAttrs (
  map (group: {
    name = group;
    value =
      let
        packages = builtins.filter (n: groupName n == group) names;
      in
      {
        inherit packages;
        cargoExtraArgs = import ./cargo-args.nix matrix.packages.${builtins.head packages};
      };
  }) groupNames
)
