# Every release folder the flake exports, as data: the canonical folder of
# each target-profile pair, and `<pair>-aarch64-native` for the pairs that
# ship aarch64. `systems` are the machines its binaries build on, so checks
# can list a folder only under a system that builds all of it.
{ matrix }:
let
  modes = import ./build-modes.nix;
  planOfPair = import ./plan-of-pair.nix { inherit matrix; };
  unique = xs: builtins.attrNames (builtins.listToAttrs (map (x: { name = x; value = null; }) xs));
  folder = name: pair: modeName: {
    inherit name pair modeName;
    systems = unique (map (t: modes.${modeName}.${t}.localSystem) (planOfPair pair).triples);
  };
in
builtins.concatLists (
  map (
    pair:
    [ (folder pair pair "canonical") ]
    ++ (
      if builtins.elem "aarch64-unknown-linux-gnu" (planOfPair pair).triples then
        [ (folder "${pair}-aarch64-native" pair "native") ]
      else
        [ ]
    )
  ) (import ./valid-pairs.nix { inherit matrix; })
)
