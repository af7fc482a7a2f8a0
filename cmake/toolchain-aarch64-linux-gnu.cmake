# Cross build for arm64 (aarch64) on a Debian bookworm amd64 host with multiarch packages:
# crossbuild-essential-arm64 and the :arm64 -dev packages that `hack/install-deps.sh --arm64`
# installs. Used by `hack/build-release.sh --arch arm64`.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_STRIP aarch64-linux-gnu-strip)

# The :arm64 packages live in the host's /usr/lib/aarch64-linux-gnu (found through
# CMAKE_LIBRARY_ARCHITECTURE); /opt/certguard-arm64 holds the CMake files of the two
# -dev packages apt cannot install beside their amd64 twins (see hack/install-deps.sh).
set(CMAKE_FIND_ROOT_PATH /opt/certguard-arm64 /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# Libraries found through that prefix would give the binary a RUNPATH into it; on the
# target every library is in the system's own directories, as for the amd64 build.
set(CMAKE_SKIP_BUILD_RPATH ON)

# pkg-config (RE2) reads only the arm64 and arch-independent .pc files.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")

# Anything CMake would run for the target goes through qemu-user (no binfmt needed); the
# arm64 loader and libraries are those of the :arm64 packages (libc6:arm64 and the rest).
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64)
