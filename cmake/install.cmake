# Install rules: headers, libraries and an exported CMake package, so that a consumer does
#   find_package(stealio CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE stealio::stealio)
# tests/install_test/ is such a consumer; tests/CMakeLists.txt builds it against a staged install.
include(CMakePackageConfigHelpers)

install(DIRECTORY scheduler/include/stealio tasks/include/stealio
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
install(TARGETS stealio_scheduler stealio_tasks stealio stealio_warnings
        EXPORT stealioTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT stealioTargets NAMESPACE stealio::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/stealio)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/stealioConfig.cmake.in
  ${PROJECT_BINARY_DIR}/stealioConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/stealio)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/stealioConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/stealioConfig.cmake ${PROJECT_BINARY_DIR}/stealioConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/stealio)
