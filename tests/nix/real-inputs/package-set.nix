# A stand-in for nixpkgs' package set, for evaluating the flake with the real
# crane, rust-overlay and nixpkgs `lib` (which machines without internet can
# have, but not nixpkgs itself). Written for this project from what those
# inputs ask of a package set; no nixpkgs code. It models what matters to the
# flake's correctness:
# - platforms come from the real `lib.systems.elaborate`;
# - derivations are real `derivation`s: `system` is the build machine, every
#   attribute (dependencies included) is part of the .drv, so store paths
#   differ exactly when inputs differ;
# - each package set has its own C compiler per (host, target), so a cross
#   set's rust-overlay toolchain (which propagates the target's cc) differs
#   from the native one;
# - callPackage splices: nativeBuildInputs take the build machine's variant,
#   as in nixpkgs;
# - callPackage is strict: a package this stand-in lacks is an error, never
#   silently faked.
# `nixpkgsRoot` is a folder standing in for nixpkgs' source tree, for the few
# files rust-overlay reads from it.
{ lib, nixpkgsRoot }:
{
  localSystem,
  crossSystem ? null,
  overlays ? [ ],
}:
let
  elaborate = s: lib.systems.elaborate (if builtins.isString s then { system = s; } else s);
  build0 = elaborate localSystem;
  host0 = if crossSystem == null then build0 else elaborate crossSystem;

  # The package set whose packages run on `host` and target `target`, built on `build`.
  setFor =
    { build, host, target }:
    let
      isDrv = x: builtins.isAttrs x && (x.type or null) == "derivation";
      drvSystem = build.system;
      # What a derivation attribute becomes in the .drv's environment.
      toEnv =
        v:
        if builtins.isAttrs v && !(isDrv v) && !(v ? outPath) then null
        else if builtins.isFunction v then null
        else if builtins.isList v then builtins.concatStringsSep " " (builtins.filter (x: x != null) (map toEnv v))
        else if v == true then "1"
        else if v == false || v == null then ""
        else toString v;
      pickBuild = d: if builtins.isAttrs d then d.__spliced.buildHost or d else d;
      mkDerivationFrom =
        argsOrFn:
        let
          args = if builtins.isFunction argsOrFn then argsOrFn result else argsOrFn;
          name = args.name or "${args.pname}-${args.version}";
          spliced = args // {
            nativeBuildInputs = map pickBuild (args.nativeBuildInputs or [ ]);
          };
          env = lib.filterAttrs (_: v: v != null) (
            lib.mapAttrs (_: toEnv) (builtins.removeAttrs spliced [ "passthru" "meta" "env" "name" "system" "builder" "args" "outputs" ])
            // lib.mapAttrs (_: toEnv) (args.env or { })
          );
          outputs = args.outputs or [ "out" ];
          drv = derivation (
            env
            // {
              inherit name outputs;
              system = drvSystem;
              builder = "/bin/sh";
              args = [ "-c" "echo this derivation stands in for nixpkgs and cannot be built >&2; exit 1" ];
            }
          );
          result =
            (builtins.removeAttrs args [ "passthru" ])
            // (args.passthru or { })
            // {
              inherit (drv) drvPath outPath type outputName;
              inherit name outputs;
              system = drvSystem;
              inherit (spliced) nativeBuildInputs;
              passthru = args.passthru or { };
              overrideAttrs =
                f:
                mkDerivationFrom (
                  if builtins.isFunction argsOrFn then
                    (self: let old = argsOrFn self; in old // lib.toFunction f old)
                  else
                    argsOrFn // lib.toFunction f argsOrFn
                );
            }
            // lib.genAttrs outputs (o: drv.${o} // { outputName = o; });
        in
        result;
      ccFor = mkDerivationFrom {
        name = "${lib.optionalString (host.config != target.config) "${target.config}-"}gcc-wrapper-14";
        hostConfig = host.config;
        targetConfig = target.config;
        passthru = {
          targetPrefix = lib.optionalString (host.config != target.config) "${target.config}-";
          nativePrefix = "";
          isGNU = true;
          # what rust-overlay's rustc wrapper reads from the cc's bintools
          bintools = {
            expandResponseParams = "expand-response-params";
            shell = "/bin/sh";
            suffixSalt = builtins.replaceStrings [ "-" ] [ "_" ] target.config;
            wrapperName = "BINTOOLS_WRAPPER";
            coreutils_bin = "coreutils";
          };
        };
      };
      stdenvWith = cc: {
        buildPlatform = build;
        hostPlatform = host;
        targetPlatform = target;
        inherit cc;
        system = drvSystem;
        inherit (host) isLinux isDarwin;
        shell = "/bin/sh";
        mkDerivation = mkDerivationFrom;
      };
      leaf = name: mkDerivationFrom { inherit name; };

      base =
        self:
        {
          inherit lib;
          pkgs = self;
          path = nixpkgsRoot;
          stdenv = stdenvWith ccFor;
          stdenvNoCC = stdenvWith null;
          buildPlatform = build;
          hostPlatform = host;
          targetPlatform = target;
          # The relative package sets, as nixpkgs names them.
          pkgsBuildBuild = setFor { inherit build; host = build; target = build; };
          pkgsBuildHost = setFor { inherit build; host = build; target = host; };
          pkgsBuildTarget = setFor { inherit build; host = build; inherit target; };
          pkgsHostHost = setFor { inherit build host; target = host; };
          pkgsHostTarget = self;
          pkgsTargetTarget = setFor { inherit build; host = target; inherit target; };
          buildPackages = self.pkgsBuildHost;
          targetPackages = self.pkgsTargetTarget;

          newScope = extra: callPackageWith (spliceAll self // extra);
          callPackage = callPackageWith (spliceAll self);
          splicePackages = spliceSets;
          "makeScopeWithSplicing'" = makeScopeWithSplicing;

          fetchurl = args: leaf (args.name or (baseNameOf args.url));
          writeText = name: text: mkDerivationFrom { inherit name text; };
          writeShellScript = name: text: mkDerivationFrom { inherit name text; executable = true; };
          writeShellScriptBin = name: text: mkDerivationFrom { inherit name text; bin = true; };
          runCommand = name: env: script: mkDerivationFrom (env // { inherit name; buildCommand = script; });
          runCommandLocal = self.runCommand;
          symlinkJoin = args: mkDerivationFrom (builtins.removeAttrs args [ "paths" ] // { paths = args.paths; });
          makeSetupHook = args: script: mkDerivationFrom {
            name = args.name;
            inherit script;
            propagatedBuildInputs = args.propagatedBuildInputs or [ ];
            substitutions = builtins.toJSON (lib.mapAttrs (_: toEnv) (args.substitutions or { }));
          };
          mkShell = args: mkDerivationFrom (builtins.removeAttrs args [ "packages" "inputsFrom" ] // {
            name = args.name or "nix-shell";
            nativeBuildInputs = (args.packages or [ ]) ++ (args.nativeBuildInputs or [ ]);
          });
          glibc = mkDerivationFrom { name = "glibc-2.42"; outputs = [ "out" "static" ]; };
          # crane's own helper (crane-utils) is a Rust package of nixpkgs' kind
          rustPlatform.buildRustPackage = args: mkDerivationFrom (builtins.removeAttrs args [ "cargoLock" ]);
          gccForLibs = mkDerivationFrom { name = "gcc-14-libs"; outputs = [ "out" "lib" ]; };
          # The tools crane's and rust-overlay's functions ask for, as plain packages.
        }
        // lib.genAttrs [
          "bash" "binaryen" "bintools" "cargo" "cargo-audit" "cargo-deny" "cargo-llvm-cov" "cargo-nextest"
          "cargo-tarpaulin" "clippy" "curl" "dart-sass" "gnutar" "jq" "lndir" "makeWrapper"
          "autoPatchelfHook" "nixfmt" "openssh" "qemu-user" "removeReferencesTo" "remarshal" "rsync" "rustc" "rustfmt"
          "taplo" "trunk" "wasm-bindgen-cli" "writableTmpDirAsHomeHook" "zlib" "zstd"
        ] leaf;

      # Strict callPackage: every argument without a default must exist.
      callPackageWith =
        scope: fn: overrides:
        let
          f = if builtins.isFunction fn then fn else import fn;
          wanted = builtins.functionArgs f;
          missing = builtins.filter (n: !wanted.${n} && !(scope ? ${n}) && !(overrides ? ${n})) (builtins.attrNames wanted);
        in
        if missing != [ ] then
          throw "the package-set stand-in has no ${builtins.concatStringsSep ", " missing} (asked by ${if builtins.isFunction fn then "a function" else toString fn})"
        else
          lib.makeOverridable f (builtins.intersectAttrs wanted scope // overrides);

      # nativeBuildInputs see the build machine's variant of a package.
      spliceAll = pkgs: spliceSets {
        pkgsBuildHost = pkgs.pkgsBuildHost;
        pkgsHostTarget = pkgs;
      };
      # pkgsBuildHost -> buildHost, as nixpkgs names the variants in __spliced
      lowerFirst = s: lib.toLower (builtins.substring 0 1 s) + builtins.substring 1 (-1) s;
      spliceSets =
        sets:
        let
          hostTarget = sets.pkgsHostTarget;
          names = builtins.attrNames hostTarget;
          variant = set: n: if builtins.isAttrs set && set ? ${n} then { value = set.${n}; } else null;
        in
        lib.genAttrs names (
          n:
          let
            v = hostTarget.${n};
          in
          if isDrv v then
            v
            // {
              __spliced = lib.filterAttrs (_: x: x != null) (
                lib.mapAttrs' (k: set: lib.nameValuePair (lowerFirst (lib.removePrefix "pkgs" k)) (
                  let x = variant set n; in if x == null then null else x.value
                )) (builtins.removeAttrs sets [ "pkgsHostTarget" ])
                // { hostTarget = v; }
              );
            }
          else
            v
        );

      # A scope whose packages are spliced with the other scopes' variants
      # (crane uses it so its toolchain resolves per platform).
      makeScopeWithSplicing =
        { f, otherSplices ? { }, keep ? (_: { }), extra ? (_: { }) }:
        let
          spliced = spliceSets {
            pkgsBuildBuild = otherSplices.selfBuildBuild or { };
            pkgsBuildHost = otherSplices.selfBuildHost or { };
            pkgsBuildTarget = otherSplices.selfBuildTarget or { };
            pkgsHostHost = otherSplices.selfHostHost or { };
            pkgsHostTarget = scope;
            pkgsTargetTarget = otherSplices.selfTargetTarget or { };
          } // keep scope;
          scope = f scope // {
            newScope = extraArgs: callPackageWith (spliceAll pkgs // spliced // extraArgs);
            callPackage = callPackageWith (spliceAll pkgs // spliced);
            overrideScope = g: makeScopeWithSplicing {
              inherit otherSplices keep extra;
              f = lib.extends g f;
            };
          };
        in
        scope;

      pkgs = lib.fix (
        self: builtins.foldl' (acc: overlay: acc // overlay self acc) (base self) overlays
      );
    in
    pkgs;
in
setFor {
  build = build0;
  host = host0;
  target = host0;
}
