# The release artefacts (docs/release.md): install rules and the CPack
# configuration of the relocatable tarball and the .deb. Included from the
# top-level CMakeLists.txt after every target exists.
#
# Tarball `tailor-<version>-linux-<arch>.tar.gz`, one directory tailor-<version>/:
#   bin/        tailor, tailor-dispatcher, tailor-jobmanager, tailor-taskmanager
#   lib/        the shared libraries they need beyond a base Debian 12 system
#   examples/   docs/   packaging/   README.md
# Debian package `tailor_<version>_<debarch>.deb`: the binaries in /usr/bin,
# the system's libraries as dependencies.
#
# Install components: `bin` (both), `lib` and `share` (tarball), `deb` (.deb).
# cpack-generators.cmake picks them per generator. scripts/release runs CPack
# and makes the tarball reproducible (sorted entries).

set(TAILOR_RELEASE_BINARIES tailor tailor-dispatcher tailor-jobmanager tailor-taskmanager)
set(TAILOR_PACKAGE_MAINTAINER "Tailor maintainers <tailor@example.invalid>"
    CACHE STRING "Maintainer field of the Debian package")

# The binaries find the bundled libraries through an RPATH of $ORIGIN/../lib.
# A DT_RPATH, not a DT_RUNPATH (--disable-new-dtags): the loader also searches
# the executable's DT_RPATH for the dependencies of libraries (libcurl's
# libnghttp2, ...), a DT_RUNPATH only for the executable's own. Set at link
# time, so installing copies the files unchanged and never relinks.
set_target_properties(${TAILOR_RELEASE_BINARIES} PROPERTIES
  INSTALL_RPATH "$ORIGIN/../lib"
  BUILD_WITH_INSTALL_RPATH ON)
foreach(binary IN LISTS TAILOR_RELEASE_BINARIES)
  target_link_options(${binary} PRIVATE "LINKER:--disable-new-dtags")
endforeach()

# Staging directories get the same mode whatever the umask.
set(CMAKE_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
  OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)

install(TARGETS ${TAILOR_RELEASE_BINARIES}
  RUNTIME_DEPENDENCY_SET tailor_runtime_libraries
  RUNTIME DESTINATION bin COMPONENT bin)

# Every library the binaries need, directly or through other libraries, except
# the base system's (system-libraries.txt: globs turned into regular expressions).
file(STRINGS "${CMAKE_CURRENT_LIST_DIR}/system-libraries.txt" system_library_globs
  REGEX "^[^#]")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
  "${CMAKE_CURRENT_LIST_DIR}/system-libraries.txt")
set(system_library_regexes "")
foreach(glob IN LISTS system_library_globs)
  string(REGEX REPLACE "([][.+?^$()|\\])" "\\\\\\1" regex "${glob}")
  string(REPLACE "*" ".*" regex "${regex}")
  list(APPEND system_library_regexes "^${regex}$")
endforeach()
install(RUNTIME_DEPENDENCY_SET tailor_runtime_libraries
  PRE_EXCLUDE_REGEXES ${system_library_regexes}
  LIBRARY DESTINATION lib COMPONENT lib)

# What the tarball carries beside the binaries: the repository's examples,
# docs and packaging as they are (minus files the repository ignores), and a
# small input for the wordcount example so that
# `tailor-<version>/bin/tailor run tailor-<version>/examples/wordcount/job.yaml`
# runs from any directory (generate-input writes the same bytes every time).
set(ignored_files PATTERN "__pycache__" EXCLUDE PATTERN "*.pyc" EXCLUDE
                  PATTERN "*.swp" EXCLUDE PATTERN "*~" EXCLUDE)
install(DIRECTORY examples docs packaging DESTINATION . COMPONENT share USE_SOURCE_PERMISSIONS
  REGEX "/examples/wordcount/data$" EXCLUDE ${ignored_files})
install(FILES README.md DESTINATION . COMPONENT share)
install(CODE "
  execute_process(
    COMMAND sh \"${PROJECT_SOURCE_DIR}/examples/wordcount/generate-input\"
      \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/examples/wordcount/data\" 4 4
    OUTPUT_QUIET COMMAND_ERROR_IS_FATAL ANY)" COMPONENT share)

# The .deb's binaries take every library from the system: no RPATH (it would
# point at /usr/lib), and Depends computed by dpkg-shlibdeps.
install(CODE "
  foreach(binary ${TAILOR_RELEASE_BINARIES})
    file(RPATH_REMOVE FILE \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/bin/\${binary}\")
  endforeach()" COMPONENT deb)
install(FILES README.md DESTINATION share/doc/tailor COMPONENT deb)

set(CPACK_PACKAGE_NAME tailor)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "batch jobs on Apache Mesos with TaskManagers sized for each stage")
set(CPACK_PACKAGE_DESCRIPTION
  "Tailor runs batch jobs, DAGs of stages whose tasks read lines on stdin and
write lines on stdout, on Apache Mesos or on one machine. A JobManager per job
asks for TaskManagers sized for the stages that wait and releases them when
they are idle; tailor-dispatcher takes jobs over REST and starts one JobManager
per job.")
set(CPACK_PACKAGE_CONTACT "${TAILOR_PACKAGE_MAINTAINER}")
set(CPACK_GENERATOR TGZ DEB)
set(CPACK_STRIP_FILES ON)
string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}" release_arch)
set(CPACK_PACKAGE_FILE_NAME "tailor-${PROJECT_VERSION}-linux-${release_arch}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_PROJECT_CONFIG_FILE "${CMAKE_CURRENT_LIST_DIR}/cpack-generators.cmake")
include(CPack)
