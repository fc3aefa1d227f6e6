# `cmake --install <build> [--prefix P]`: the framework as a package other projects build
# against (`dynctl new` projects, or any CMake or pkg-config project):
#
#   <prefix>/include/{actor,http,dynamo}/*.h     the public headers
#   <prefix>/<libdir>/lib{dynamo,dynhttp,actor,llhttp}.a
#   <prefix>/bin/dynctl, <prefix>/bin/dyn-eex     the command line and the template compiler
#   <prefix>/<libdir>/cmake/dynamo/               find_package(dynamo): dynamoConfig.cmake,
#                                                 its version file, the exported targets, the
#                                                 dependencies, and the functions projects call
#                                                 (dynamo_add_templates, dynamo_add_web)
#   <prefix>/<libdir>/pkgconfig/dynamo.pc         pkg-config --cflags --libs dynamo
#
# Beside the build tree's package (DynamoExport.cmake), with the same targets under the same
# names (dynamo::dynamo, dynamo::eex, ...). The libraries are static: the dependencies they
# link are written out as this build found them (dynamoDeps.cmake, shared with the build
# tree's package), so the installed copy works on this machine and its like (same Debian
# packages) whatever the build found.
include(CMakePackageConfigHelpers)

function(dynamo_install)
  set(libs actor dynhttp llhttp dynamo)
  set(ifaces dyn_warnings dyn_sanitize dyn_harden)
  install(TARGETS ${libs} ${ifaces} dyn_eex EXPORT dynamoTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(TARGETS dynctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  foreach(layer actor http dynamo)
    install(DIRECTORY ${PROJECT_SOURCE_DIR}/${layer}/include/
      DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
  endforeach()
  install(EXPORT dynamoTargets NAMESPACE dynamo:: DESTINATION ${DYNAMO_INSTALL_CMAKEDIR})

  set(gen "${PROJECT_BINARY_DIR}/install")
  configure_file("${PROJECT_SOURCE_DIR}/cmake/dynamoConfig.install.cmake.in"
    "${gen}/dynamoConfig.cmake" @ONLY)
  write_basic_package_version_file("${gen}/dynamoConfigVersion.cmake"
    VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
  install(FILES "${gen}/dynamoConfig.cmake" "${gen}/dynamoConfigVersion.cmake"
    "${PROJECT_BINARY_DIR}/dynamoDeps.cmake"
    "${PROJECT_SOURCE_DIR}/cmake/DynamoTemplates.cmake"
    "${PROJECT_SOURCE_DIR}/cmake/DynamoWeb.cmake"
    DESTINATION ${DYNAMO_INSTALL_CMAKEDIR})

  # pkg-config: the libraries are static, so everything they need is in Libs and Requires
  # (libuv's headers too: the runtime's public headers include uv.h). A dependency added to a
  # layer goes here as well: the installed-copy e2e test links a program with this file.
  set(pc_requires "libuv libdw ck jansson libcrypto libsodium")
  set(pc_libs "-ldynamo -ldynhttp -lactor -lllhttp")
  if(DYN_MALLOC STREQUAL "mimalloc")
    string(APPEND pc_libs " -lmimalloc")
  endif()
  string(APPEND pc_libs " -lpthread -ldl -lm")
  if(DYN_SANITIZE)
    string(APPEND pc_libs " -fsanitize=${DYN_SANITIZE}")
  endif()
  # The prefix relative to the .pc file: the installed copy can be moved (cmake --install
  # --prefix elsewhere than configured).
  file(RELATIVE_PATH pc_to_prefix "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
  configure_file("${PROJECT_SOURCE_DIR}/cmake/dynamo.pc.in" "${gen}/dynamo.pc" @ONLY)
  install(FILES "${gen}/dynamo.pc" DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endfunction()
