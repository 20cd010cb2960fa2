# A test double of rust-overlay: its overlay's fromRustupToolchainFile.
{
  overlays.default = final: prev: {
    rust-bin.fromRustupToolchainFile =
      file:
      (import ./fake-derivation.nix) "rust-toolchain-for-${final.doubleOf.localSystem}" {
        toolchainFile = builtins.fromTOML (builtins.readFile file);
      };
  };
}
