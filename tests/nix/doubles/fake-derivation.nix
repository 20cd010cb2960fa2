# A stand-in for a derivation: it records the arguments it was made from,
# so tests can assert what the flake passed to nixpkgs and crane.
let
  fake =
    name: attrs:
    attrs
    // {
      type = "derivation";
      inherit name;
      outPath = "/nix/store/${builtins.substring 0 32 (builtins.hashString "sha256" (builtins.toJSON (builtins.attrNames attrs) + name))}-${name}";
      overrideAttrs = f: fake "${name}-overridden" (attrs // f attrs);
    };
in
fake
