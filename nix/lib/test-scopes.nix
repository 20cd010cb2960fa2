# How clippy and the tests cover the workspace: a crate built with features
# (camera_hub: exactly one of raspberry and ip) is checked once per feature
# set; everything else once, as the workspace without those crates.
{ matrix }:
let
  featured = builtins.filter (p: p.features != [ ]) (builtins.attrValues matrix.packages);
  featuredCrates = builtins.attrNames (builtins.listToAttrs (map (p: { name = p.crate; value = null; }) featured));
in
[
  {
    name = "workspace";
    cargoExtraArgs = builtins.concatStringsSep " " (
      [ "--locked" "--workspace" ] ++ builtins.concatLists (map (c: [ "--exclude" c ]) featuredCrates)
    );
  }
]
++ map (p: {
  name = builtins.replaceStrings [ "_" ] [ "-" ] "${p.crate}-${builtins.concatStringsSep "-" p.features}";
  cargoExtraArgs = import ./cargo-args.nix p;
}) featured
