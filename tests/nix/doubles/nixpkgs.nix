# A test double of nixpkgs: `import nixpkgs { localSystem; crossSystem; overlays; }`
# with only what the flake uses, each recording its arguments. Like nixpkgs,
# a derivation's `system` is the machine that builds it (the local system),
# and `buildPackages` is the native set of that machine; the real-input
# evaluation (tests/nix/real-inputs) checks these against the real crane and
# rust-overlay.
{
  localSystem,
  crossSystem ? null,
  # not nixpkgs' argument: the double's buildPackages of a cross set targets
  # the cross system, as nixpkgs' pkgsBuildHost does
  targetSystem ? crossSystem,
  overlays ? [ ],
}:
let
  fake = name: attrs: import ./fake-derivation.nix name ({ system = localSystem; } // attrs);
  base = self: {
    doubleOf = { inherit localSystem crossSystem targetSystem; };
    buildPackages = if crossSystem == null then self else import ./nixpkgs.nix { inherit localSystem overlays; targetSystem = crossSystem; };
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
    writeShellScript = name: text: fake name { inherit text; };
    writeShellScriptBin = name: text: fake name { inherit text; };
    glibc = fake "glibc" { } // {
      static = fake "glibc-static-for-${if crossSystem == null then localSystem else crossSystem}" { };
    };
    removeReferencesTo = fake "remove-references-to" { };
    cargo-nextest = fake "cargo-nextest" { };
    openssh = fake "openssh" { };
    nixfmt = fake "nixfmt" { };
    # No copying of the real source into the store during tests: the source
    # records its filter, which flake-tests.nix applies to sample paths.
    lib = {
      cleanSource = path: path;
      cleanSourceWith = { src, filter, name ? "source" }: fake name { sourceOf = toString src; } // { inherit filter; };
      hasSuffix = suffix: s: let n = builtins.stringLength s; k = builtins.stringLength suffix; in n >= k && builtins.substring (n - k) k s == suffix;
      hasInfix = infix: s: builtins.match ".*${builtins.replaceStrings [ "." "/" ] [ "\\." "/" ] infix}.*" s != null;
    };
  };
  pkgs = builtins.foldl' (acc: overlay: acc // overlay pkgs acc) (base pkgs) overlays;
in
pkgs
