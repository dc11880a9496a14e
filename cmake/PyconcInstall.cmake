# cmake --install: the headers, the exported targets pyconc::pyconc (the
# model) and pyconc::lesson (the lesson chrome) and a package config, so that
# another project can
#
#   find_package(pyconc 0.1 REQUIRED)
#   target_link_libraries(app PRIVATE pyconc::pyconc)   # or pyconc::lesson
#
# tests/consumer proves it (and the add_subdirectory route) in ctest.
include(CMakePackageConfigHelpers)

set(PYCONC_CMAKE_INSTALL_DIR "${CMAKE_INSTALL_DATADIR}/cmake/pyconc")

install(TARGETS pyconc pyconc_lesson EXPORT pyconcTargets)
install(DIRECTORY include/pyconc TYPE INCLUDE)
install(EXPORT pyconcTargets NAMESPACE pyconc:: DESTINATION "${PYCONC_CMAKE_INSTALL_DIR}")

configure_package_config_file(cmake/pyconcConfig.cmake.in
    "${PROJECT_BINARY_DIR}/pyconcConfig.cmake"
    INSTALL_DESTINATION "${PYCONC_CMAKE_INSTALL_DIR}")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/pyconcConfigVersion.cmake"
    COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/pyconcConfig.cmake" "${PROJECT_BINARY_DIR}/pyconcConfigVersion.cmake"
    DESTINATION "${PYCONC_CMAKE_INSTALL_DIR}")
