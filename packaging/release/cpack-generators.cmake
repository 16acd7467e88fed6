# Per-generator CPack settings (CPACK_PROJECT_CONFIG_FILE of release.cmake):
# which install components each package holds, and where.
list(GET CPACK_INSTALL_CMAKE_PROJECTS 0 tailor_build_dir)
if(CPACK_GENERATOR STREQUAL "DEB")
  # /usr/bin/tailor...: the binaries without RPATH, the README as its doc.
  set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
  set(CPACK_INSTALL_CMAKE_PROJECTS
    "${tailor_build_dir};tailor;bin;/"
    "${tailor_build_dir};tailor;deb;/")
else()
  # One top directory tailor-<version>/ (not the file's name), everything in it.
  set(CPACK_INCLUDE_TOPLEVEL_DIRECTORY OFF)
  set(CPACK_PACKAGING_INSTALL_PREFIX "/tailor-${CPACK_PACKAGE_VERSION}")
  set(CPACK_INSTALL_CMAKE_PROJECTS
    "${tailor_build_dir};tailor;bin;/"
    "${tailor_build_dir};tailor;lib;/"
    "${tailor_build_dir};tailor;share;/")
endif()
