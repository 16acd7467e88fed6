# Reproducible builds (docs/release.md): with TAILOR_REPRODUCIBLE (on in the
# `release` preset) no path of the machine that built Tailor ends up in its
# objects (__FILE__, debug information), so two builds of one commit in
# different directories give the same bytes. Included before any target.
option(TAILOR_REPRODUCIBLE "Map the source and build directories out of compiled files" OFF)
if(TAILOR_REPRODUCIBLE)
  # GCC applies the last map that matches, and the build directory may lie
  # inside the source directory: the source map comes first.
  add_compile_options(
    "-ffile-prefix-map=${PROJECT_SOURCE_DIR}=."
    "-ffile-prefix-map=${PROJECT_BINARY_DIR}=build")
endif()
