#!/usr/bin/env bash
# Builds and runs tests/consumers/consumer.cpp the ways downstream projects
# consume respool. Usage: run.sh <build dir with every adapter> <work dir> [kind...]
#   install      meson install of the build into <work dir>/root (DESTDIR)
#   cmake        a CMake project: find_package(respool) against that install
#   pkgconfig    one compiler line: pkg-config --cflags --libs, nothing else
#   meson        a meson project: dependency('respool') found via pkg-config
#   subproject   a meson project with respool in subprojects/ (built from source)
# Each kind prints "consumer <kind>: ok" or fails the script.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$1" && pwd)
work=$2
shift 2
mkdir -p "$work"
work=$(cd "$work" && pwd)
root=$work/root
prefix=$(meson introspect "$build" --buildoptions | python3 -c \
  'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
libdir=$(meson introspect "$build" --buildoptions | python3 -c \
  'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "libdir"))')
version=$(meson introspect "$build" --projectinfo | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
lib=$root$prefix/$libdir
[[ $libdir = /* ]] && lib=$root$libdir
export PKG_CONFIG_PATH=$lib/pkgconfig
# The .pc files name the real prefix (/usr/local); the sysroot makes pkg-config
# (and meson, which runs it) put the DESTDIR copy in front of -I and -L.
export PKG_CONFIG_SYSROOT_DIR=$root

for kind in "$@"; do
  case $kind in
  install)
    rm -rf "$root"
    DESTDIR=$root meson install -C "$build" --quiet --no-rebuild
    ;;
  cmake)
    rm -rf "$work/cmake"
    cmake -S "$src/tests/consumers/cmake" -B "$work/cmake" -G Ninja -DCMAKE_PREFIX_PATH="$root$prefix" \
      -DCMAKE_BUILD_TYPE=Release >"$work/cmake.log"
    cmake --build "$work/cmake" >>"$work/cmake.log"
    LD_LIBRARY_PATH=$lib "$work/cmake/consumer" "$version"
    ;;
  pkgconfig)
    # shellcheck disable=SC2046 # the flags are words
    c++ -std=c++20 -DRESPOOL_CONSUMER_PG=1 -DRESPOOL_CONSUMER_TCP=1 -o "$work/pkgconfig-consumer" \
      "$src/tests/consumers/consumer.cpp" $(pkg-config --cflags --libs respool-testing respool-pg respool-tcp)
    LD_LIBRARY_PATH=$lib "$work/pkgconfig-consumer" "$version"
    ;;
  meson)
    rm -rf "$work/meson"
    meson setup "$work/meson" "$src/tests/consumers/meson" --wrap-mode=nofallback \
      -Dpkg_config_path="$PKG_CONFIG_PATH" >"$work/meson.log"
    ninja -C "$work/meson" >>"$work/meson.log"
    LD_LIBRARY_PATH=$lib "$work/meson/consumer" "$version"
    ;;
  subproject)
    rm -rf "$work/subproject"
    mkdir -p "$work/subproject/subprojects"
    cp "$src/tests/consumers/consumer.cpp" "$work/"
    cp "$src/tests/consumers/meson/meson.build" "$work/subproject/"
    ln -s "$src" "$work/subproject/subprojects/respool"
    env -u PKG_CONFIG_PATH -u PKG_CONFIG_SYSROOT_DIR meson setup "$work/subproject/build" "$work/subproject" --wrap-mode=forcefallback \
      -Dbuildtype=release >"$work/subproject.log"
    ninja -C "$work/subproject/build" >>"$work/subproject.log"
    # The subproject builds the libraries only: no tests of respool's in ours.
    if meson test -C "$work/subproject/build" --list 2>/dev/null | grep -q .; then
      echo "consumer subproject: respool's tests leaked into the parent's meson test" >&2
      exit 1
    fi
    "$work/subproject/build/consumer" "$version"
    ;;
  *) echo "run.sh: unknown kind $kind" >&2; exit 2 ;;
  esac
  echo "consumer $kind: ok"
done
