# Baselines for `condis bench` (see bench/baseline.h). Included from the top-level CMakeLists.txt
# after the CLI target exists; uses CONDIS_WARNINGS, CONDIS_DEFS and CONDIS_SANITIZE from there.
#
# bench/baseline_naive.c has no dependency and is compiled into the CLI with the rest of bench/*.c
# by the top-level file, with the project's warnings; nothing to do for it here.
#
# The DPDK baselines live in a MODULE that the CLI dlopens, so that neither libcondis nor the CLI
# ever links DPDK. It is built only when pkg-config finds libdpdk (Debian: libdpdk-dev).

# Where the CLI looks for the module: the build tree first (so `make bench` works without
# installing), then the install location. Defined whether or not the module is built, so the
# harness always compiles and can say where it looked.
set(CONDIS_BENCH_DPDK_BUILD_PATH "${CMAKE_BINARY_DIR}/bench/condis-bench-dpdk.so")
set(CONDIS_BENCH_DPDK_INSTALL_PATH "${CMAKE_INSTALL_FULL_LIBDIR}/condis/condis-bench-dpdk.so")
if(TARGET condis)
  target_compile_definitions(condis PRIVATE
    CONDIS_BENCH_DPDK_BUILD_PATH="${CONDIS_BENCH_DPDK_BUILD_PATH}"
    CONDIS_BENCH_DPDK_INSTALL_PATH="${CONDIS_BENCH_DPDK_INSTALL_PATH}")
endif()

find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(CONDIS_DPDK QUIET IMPORTED_TARGET libdpdk)
endif()

if(NOT CONDIS_DPDK_FOUND)
  message(STATUS "condis bench: libdpdk not found by pkg-config; the dpdk_* baselines will be "
                 "skipped (install libdpdk-dev to get them)")
elseif(NOT CONDIS_SANITIZE STREQUAL "")
  # Speed under a sanitizer means nothing, EAL's fixed mappings may collide with ASan's shadow
  # memory, and TSan would report DPDK's barrier-based ring as data races.
  message(STATUS "condis bench: DPDK ${CONDIS_DPDK_VERSION} found, but the dpdk_* baselines are "
                 "not built in a sanitizer build (SANITIZE=${CONDIS_SANITIZE})")
else()
  message(STATUS "condis bench: DPDK ${CONDIS_DPDK_VERSION} found; building "
                 "bench/condis-bench-dpdk.so for the dpdk_* baselines")
  add_library(condis_bench_dpdk MODULE ${CMAKE_CURRENT_LIST_DIR}/dpdk/baseline_dpdk.c)
  set_target_properties(condis_bench_dpdk PROPERTIES
    PREFIX ""
    OUTPUT_NAME condis-bench-dpdk
    LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench
    # Only condis_bench_dpdk() is exported; the source marks it.
    C_VISIBILITY_PRESET hidden)
  target_compile_definitions(condis_bench_dpdk PRIVATE ${CONDIS_DEFS})
  # Our own warnings apply to our code; DPDK's headers come in through the imported target, whose
  # include directories CMake passes as -isystem, so their warnings do not fail a strict build.
  # pkg-config also brings DPDK's own flags (-include rte_config.h, -march=corei7 on x86-64).
  target_compile_options(condis_bench_dpdk PRIVATE ${CONDIS_WARNINGS})
  target_link_libraries(condis_bench_dpdk PRIVATE PkgConfig::CONDIS_DPDK)
  install(TARGETS condis_bench_dpdk LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/condis)
endif()
