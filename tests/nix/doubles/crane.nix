# A test double of crane: `mkLib pkgs` with the functions the flake calls,
# each returning a fake derivation that records its arguments, the toolchain
# and the package set (local and cross system) it was made for.
{
  mkLib =
    pkgs:
    let
      fake = import ./fake-derivation.nix;
      lib = toolchain: {
        overrideToolchain = f: lib (f pkgs);
        # No copying of the real source into the store during tests.
        cleanCargoSource = path: fake "source" { sourceOf = toString path; };
        vendorCargoDeps = args: fake "vendor-cargo-deps-${pkgs.doubleOf.localSystem}" args;
      }
      // builtins.listToAttrs (
        map
          (fn: {
            name = fn;
            value =
              args:
              fake "${fn}-${args.pname or "workspace"}" (
                args
                // {
                  craneFn = fn;
                  inherit toolchain;
                  pkgs = pkgs.doubleOf;
                }
              );
          })
          [
            "buildDepsOnly"
            "buildPackage"
            "cargoClippy"
            "cargoFmt"
            "cargoNextest"
            "devShell"
          ]
      );
    in
    lib null;
}
