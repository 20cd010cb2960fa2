{
  description = "camhub: hermetic, bit-for-bit reproducible release builds, and the repro verifier";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-26.05";
    crane.url = "github:ipetkov/crane";
    rust-overlay = {
      url = "github:oxalica/rust-overlay";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  # Everything is generated in nix/ from the release matrix in Cargo.toml.
  outputs = inputs: import ./nix/outputs.nix inputs;
}
