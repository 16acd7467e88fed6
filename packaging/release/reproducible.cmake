# Reproducible builds (docs/release.md): with TAILOR_REPRODUCIBLE (on in the
# `release` preset) no path of the machine that built Tailor ends up in its
# objects (__FILE__, debug information), so two builds of one commit in
# different directories give the same bytes. Included before any target.
option(TAILOR_REPRODUCIBLE "Map the source and build directories out of compiled files" OFF)
if(TAILOR_REPRODUCIBLE)
  # Whatever form the compiler is given a path in, it records the same text:
  # a source as common/x.cpp, a generated file as proto/tailor/v1/job.pb.h and
  # the build directory as `.`. Ninja names files by absolute path, but ccache
  # with a base directory hands the compiler paths relative to the build
  # directory (../../common/x.cpp). GCC applies the last map that matches, so
  # the build directory's maps come after the source directory's, which may
  # contain it.
  set(reproducible_maps "-ffile-prefix-map=${PROJECT_SOURCE_DIR}/=")
  file(RELATIVE_PATH source_from_build "${PROJECT_BINARY_DIR}" "${PROJECT_SOURCE_DIR}")
  string(REGEX REPLACE "/+$" "" source_from_build "${source_from_build}")
  if(NOT source_from_build STREQUAL "")
    list(APPEND reproducible_maps "-ffile-prefix-map=${source_from_build}/=")
  endif()
  list(APPEND reproducible_maps
    "-ffile-prefix-map=${PROJECT_BINARY_DIR}=."
    "-ffile-prefix-map=${PROJECT_BINARY_DIR}/=")
  add_compile_options(${reproducible_maps})
endif()
