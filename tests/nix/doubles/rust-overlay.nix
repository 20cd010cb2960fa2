# A test double of rust-overlay: its overlay's fromRustupToolchainFile. As the
# real one (which propagates the target's C compiler), a package set for
# another target gets another toolchain.
{
  overlays.default = final: prev: {
    rust-bin.fromRustupToolchainFile =
      file:
      (import ./fake-derivation.nix) "rust-toolchain-for-${final.doubleOf.localSystem}${
        if final.doubleOf.targetSystem == null then "" else "-to-${final.doubleOf.targetSystem}"
      }" {
        toolchainFile = builtins.fromTOML (builtins.readFile file);
      };
  };
}
