# deltapq's package configuration: find_package(deltapq) gives the namespaced static libraries
#   deltapq::core deltapq::reference deltapq::fast deltapq::model deltapq::pipeline deltapq::app
# and finds what they link (Debian 12 packages: libeigen3-dev libboost-dev libmpfr-dev libgmp-dev
# libopenblas-dev nlohmann-json3-dev libzip-dev pkg-config).
include(CMakeFindDependencyMacro)
find_dependency(Eigen3 3.4 CONFIG)
find_dependency(Boost 1.74 CONFIG)
find_dependency(nlohmann_json 3 CONFIG)
find_dependency(OpenMP COMPONENTS CXX)
find_dependency(PkgConfig)
if(NOT TARGET PkgConfig::MPFR)
  pkg_check_modules(MPFR REQUIRED IMPORTED_TARGET mpfr)
endif()
if(NOT TARGET PkgConfig::GMP)
  pkg_check_modules(GMP REQUIRED IMPORTED_TARGET gmp)
endif()
if(NOT TARGET PkgConfig::LIBZIP)
  pkg_check_modules(LIBZIP REQUIRED IMPORTED_TARGET libzip)
endif()
if(NOT TARGET PkgConfig::OPENBLAS)
  pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)
endif()
include(${CMAKE_CURRENT_LIST_DIR}/deltapqTargets.cmake)
