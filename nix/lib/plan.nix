# What a target and profile build, with the semantics of `repro matrix`:
# triples in the target's order, packages in the profile's order, packages
# limited to some triples skipped (and listed) for the others.
{ matrix }:
target: profile:
let
  profiles = (matrix.targets.${target} or { profiles = { }; }).profiles;
  validPairs = import ./valid-pairs.nix { inherit matrix; };
  packages =
    profiles.${profile}
      or (throw "`${target}` with profile `${profile}` is not in the release matrix; valid target-profile pairs: ${builtins.concatStringsSep ", " validPairs}");
  triples = matrix.targets.${target}.triples;
  builtFor = name: triple: !(matrix.packages.${name} ? triples) || builtins.elem triple matrix.packages.${name}.triples;
  entry = triple: name: builtins.removeAttrs (import ./artifact.nix { inherit matrix; } name triple) [ "name" ];
in
{
  inherit target profile triples;
  artifacts = builtins.concatLists (
    map (triple: map (entry triple) (builtins.filter (name: builtFor name triple) packages)) triples
  );
  skipped = builtins.concatLists (
    map (
      triple:
      map (name: {
        package = name;
        inherit triple;
        onlyFor = matrix.packages.${name}.triples;
      }) (builtins.filter (name: !(builtFor name triple)) packages)
    ) triples
  );
}
