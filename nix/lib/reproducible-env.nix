# The shell lines that apply [workspace.metadata.repro.reproducible] inside a
# Nix build, with the placeholders bound as crane lays a build out:
#   {workspace}  -> $NIX_BUILD_TOP (the source, its target dir, CARGO_HOME)
#   {cargo_home} -> $cargoVendorDir (crane's vendored dependency sources)
#   {target_dir} -> $PWD/target (mapped last, so the source folder's name never shows)
# Run from the unpacked source folder (preBuild). rustflags are joined with
# 0x1f for CARGO_ENCODED_RUSTFLAGS, as `repro build` does.
{ reproducible }:
let
  bind = builtins.replaceStrings [ "{workspace}" "{cargo_home}" "{target_dir}" ] [
    "$NIX_BUILD_TOP"
    "$cargoVendorDir"
    "$PWD/target"
  ];
  unitSeparator = builtins.fromJSON ''"\u001f"'';
  envLines = map (name: "export ${name}=${builtins.toJSON reproducible.env.${name}}") (
    builtins.attrNames (reproducible.env or { })
  );
in
builtins.concatStringsSep "\n" (
  [
    "export CARGO_ENCODED_RUSTFLAGS=\"${builtins.concatStringsSep unitSeparator (map bind reproducible.rustflags)}\""
    "export CFLAGS=\"\${CFLAGS:-}\${CFLAGS:+ }${builtins.concatStringsSep " " (map bind reproducible.cflags)}\""
  ]
  ++ envLines
)
+ "\n"
