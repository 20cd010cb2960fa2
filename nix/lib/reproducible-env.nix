# The shell lines (crane's preBuild, run from the unpacked source folder) that
# apply [workspace.metadata.repro.reproducible] inside a Nix build. Flags
# without a path go to CARGO_ENCODED_RUSTFLAGS (joined with 0x1f, as `repro
# build` does) and CFLAGS. Path-bound flags must not be seen by cargo's
# fingerprints (see placeholders.nix): rustc gets them from the RUSTC_WRAPPER
# (rustc-remap-script.nix), the C compiler from NIX_CFLAGS_COMPILE, which
# nixpkgs' cc-wrapper reads when it runs and cc-rs does not watch.
{ reproducible }:
let
  bind = import ./bind-flag.nix;
  isPathBound = import ./is-path-bound.nix;
  unitSeparator = builtins.fromJSON ''"\u001f"'';
  constant = builtins.filter (f: !(isPathBound f));
  join = sep: flags: builtins.concatStringsSep sep (map bind flags);
  append = var: sep: flags: "export ${var}=\"\${${var}:-}\${${var}:+${sep}}${join sep flags}\"";
  envLines = map (name: "export ${name}=${builtins.toJSON reproducible.env.${name}}") (
    builtins.attrNames (reproducible.env or { })
  );
in
builtins.concatStringsSep "\n" (
  [
    "export ${(import ./placeholders.nix).target_dir}=\"$PWD/target\""
    "export CARGO_ENCODED_RUSTFLAGS=\"${join unitSeparator (constant reproducible.rustflags)}\""
  ]
  ++ (if constant reproducible.cflags == [ ] then [ ] else [ (append "CFLAGS" " " (constant reproducible.cflags)) ])
  ++ [ (append "NIX_CFLAGS_COMPILE" " " (builtins.filter isPathBound reproducible.cflags)) ]
  ++ envLines
)
+ "\n"
