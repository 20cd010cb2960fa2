# A test double of crane: `mkLib pkgs` with the functions the flake calls,
# each returning a fake derivation that records its arguments, the toolchain
# and the package set (local and cross system) it was made for. Like the real
# crane, whose crate-name lookup warns on a workspace without a root package,
# a derivation without `pname` is refused.
{
  mkLib =
    pkgs:
    let
      fake = name: attrs: import ./fake-derivation.nix name ({ system = pkgs.doubleOf.localSystem; } // attrs);
      lib = toolchain: {
        # crane calls the function per package set and builds with the build
        # machine's toolchain (buildPackages), as the real splicing does.
        overrideToolchain = f: lib (f pkgs.buildPackages);
        # No copying of the real source into the store during tests.
        cleanCargoSource = path: fake "source" { sourceOf = toString path; };
        # crane's rule: Rust sources, TOML files, Cargo.lock, .cargo/config, and folders.
        filterCargoSources =
          path: type:
          type == "directory" || builtins.match ".*(\\.rs|\\.toml|/Cargo\\.lock|/\\.cargo/config)" (toString path) != null;
        vendorCargoDeps = args: fake "vendor-cargo-deps-${pkgs.doubleOf.localSystem}" args;
      }
      // builtins.listToAttrs (
        map
          (fn: {
            name = fn;
            value =
              args:
              if fn != "devShell" && !(args ? pname) then
                throw "crane ${fn}: no pname (crane would warn and use a placeholder name)"
              else
                fake "${fn}-${args.pname or "shell"}" (
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
