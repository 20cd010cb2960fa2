# A test double of nixpkgs: `import nixpkgs { localSystem; crossSystem; overlays; }`
# with only what the flake uses, each recording its arguments.
{
  localSystem,
  crossSystem ? null,
  overlays ? [ ],
}:
let
  fake = import ./fake-derivation.nix;
  base = self: {
    doubleOf = { inherit localSystem crossSystem; };
    callPackage =
      f: args:
      let
        fn = if builtins.isFunction f then f else import f;
      in
      fn (builtins.intersectAttrs (builtins.functionArgs fn) self // args);
    runCommand =
      name: env: script:
      fake name {
        inherit env script;
        builder = "runCommand";
        pkgs = self.doubleOf;
      }
      // (env.passthru or { });
    writeShellScriptBin = name: text: fake name { inherit text; };
    cargo-nextest = fake "cargo-nextest" { };
    openssh = fake "openssh" { };
    nixfmt = fake "nixfmt" { };
  };
  pkgs = builtins.foldl' (acc: overlay: acc // overlay pkgs acc) (base pkgs) overlays;
in
pkgs
