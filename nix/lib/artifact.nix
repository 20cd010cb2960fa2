# One package of the release matrix for one triple: what to build and where
# it goes in a release folder.
{ matrix }:
name: triple:
let
  package = matrix.packages.${name};
in
{
  inherit name triple;
  package = name;
  crate = package.crate;
  features = package.features;
  cargoBin = package.cargo_bin or package.crate;
  bin = package.bin;
  binPath = "${triple}/${package.bin}";
}
