# How each triple is built. The canonical way is what `nix build .#<pair>`
# does and what a verifier must do to get the same bytes: both triples come
# from an x86_64-linux build machine, aarch64 by cross-compilation (so an
# x86_64 verifier needs no ARM machine, and an ARM one needs an x86_64
# builder: remote, or emulated with `extra-platforms`). The `native`
# alternative builds aarch64 on aarch64-linux; its binaries come from other
# derivations and need not match, and the manifest says which was used.
{
  canonical = {
    "x86_64-unknown-linux-gnu" = {
      localSystem = "x86_64-linux";
      crossSystem = null;
      mode = "nix-native-x86_64-linux";
    };
    "aarch64-unknown-linux-gnu" = {
      localSystem = "x86_64-linux";
      crossSystem = "aarch64-linux";
      mode = "nix-cross-from-x86_64-linux";
    };
  };
  native = {
    "x86_64-unknown-linux-gnu" = {
      localSystem = "x86_64-linux";
      crossSystem = null;
      mode = "nix-native-x86_64-linux";
    };
    "aarch64-unknown-linux-gnu" = {
      localSystem = "aarch64-linux";
      crossSystem = null;
      mode = "nix-native-aarch64-linux";
    };
  };
}
