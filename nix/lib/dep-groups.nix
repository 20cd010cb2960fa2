# How dependencies are shared: one `buildDepsOnly` per triple and feature set.
# Packages without features share one group (all their crates at once); each
# crate built with features gets its own, since features change what its
# dependencies compile to. Groups span every package of the matrix, so one
# deps derivation serves every target and profile.
{ matrix }:
triple:
let
  names = builtins.filter (
    name: !(matrix.packages.${name} ? triples) || builtins.elem triple matrix.packages.${name}.triples
  ) (builtins.attrNames matrix.packages);
  plain = builtins.filter (name: matrix.packages.${name}.features == [ ]) names;
  featured = builtins.filter (name: matrix.packages.${name}.features != [ ]) names;
  crates = ns: builtins.attrNames (builtins.listToAttrs (map (n: { name = matrix.packages.${n}.crate; value = null; }) ns));
in
builtins.listToAttrs (
  (
    if plain == [ ] then
      [ ]
    else
      [
        {
          name = "plain";
          value = {
            packages = plain;
            cargoExtraArgs = builtins.concatStringsSep " " ([ "--locked" ] ++ builtins.concatLists (map (c: [ "-p" c ]) (crates plain)));
          };
        }
      ]
  )
  ++ map (name: {
    name = "${matrix.packages.${name}.crate}+${builtins.concatStringsSep "," matrix.packages.${name}.features}";
    value = {
      packages = [ name ];
      cargoExtraArgs = import ./cargo-args.nix matrix.packages.${name};
    };
  }) featured
)
