# Every external dependency is found here, in one place.

# HESP_DEPS_PREFIX: the root of an unpacked Debian library tree (launch/gpu_prefix.sh:
# `dpkg -x` of the packages into one folder), for a machine that has a compiler, CMake and
# LibTorch but not hesp's other libraries (the GPU machine; docs/building.md). Every
# library below is then taken from <prefix>/usr, and nothing of the kind from the system:
# config packages through CMAKE_PREFIX_PATH, pkg-config files read with the prefix as
# sysroot, HDF5 and MPI from their Debian locations without the compiler wrappers (whose
# paths are hard-coded to /usr). Programs the build runs (protoc) and the binaries need
# LD_LIBRARY_PATH=<prefix>/usr/lib/<arch> (launch/gpu_check.sh sets it); the build tree's
# RPATH names the prefix's libraries.
set(HESP_DEPS_PREFIX "" CACHE PATH "Root of an unpacked Debian library tree (launch/gpu_prefix.sh)")
if(HESP_DEPS_PREFIX)
  set(_dp "${HESP_DEPS_PREFIX}/usr")
  set(_arch "${CMAKE_LIBRARY_ARCHITECTURE}")
  if(NOT _arch)
    set(_arch x86_64-linux-gnu)
  endif()
  set(_dplib "${_dp}/lib/${_arch}")
  if(NOT EXISTS "${_dplib}/libprotobuf.so")
    message(FATAL_ERROR "HESP_DEPS_PREFIX=${HESP_DEPS_PREFIX} holds no ${_dplib}/libprotobuf.so "
                        "(make it with launch/gpu_prefix.sh and unpack deps.tar.xz there)")
  endif()
  list(PREPEND CMAKE_PREFIX_PATH "${_dp}")
  set(ENV{PKG_CONFIG_LIBDIR} "${_dplib}/pkgconfig:${_dp}/share/pkgconfig")
  set(ENV{PKG_CONFIG_PATH} "")
  set(ENV{PKG_CONFIG_SYSROOT_DIR} "${HESP_DEPS_PREFIX}")
  set(ENV{LD_LIBRARY_PATH} "${_dplib}:$ENV{LD_LIBRARY_PATH}")  # protoc at configure time
  set(Protobuf_PROTOC_EXECUTABLE "${_dp}/bin/protoc" CACHE FILEPATH "protoc of HESP_DEPS_PREFIX")
  set(Protobuf_INCLUDE_DIR "${_dp}/include" CACHE PATH "")
  set(Protobuf_LIBRARY "${_dplib}/libprotobuf.so" CACHE FILEPATH "")
  set(ZLIB_ROOT "${_dp}")
  set(OPENSSL_ROOT_DIR "${_dp}")
  set(HDF5_ROOT "${_dp}")
  set(HDF5_NO_FIND_PACKAGE_CONFIG_FILE ON)
  set(HDF5_C_INCLUDE_DIR "${_dp}/include/hdf5/serial" CACHE PATH "")
  set(HDF5_hdf5_LIBRARY_RELEASE "${_dplib}/hdf5/serial/libhdf5.so" CACHE FILEPATH "")
  set(MPI_SKIP_COMPILER_WRAPPER ON)
  set(MPI_C_HEADER_DIR "${_dplib}/openmpi/include" CACHE PATH "")
  set(MPI_C_LIB_NAMES mpi CACHE STRING "")
  set(MPI_mpi_LIBRARY "${_dplib}/openmpi/lib/libmpi.so" CACHE FILEPATH "")
  set(MPIEXEC_EXECUTABLE "${_dp}/bin/mpirun" CACHE FILEPATH "")
  message(STATUS "hesp: libraries from HESP_DEPS_PREFIX=${HESP_DEPS_PREFIX}")
endif()

find_package(Torch REQUIRED)
# Torch's config puts its include dirs on the imported target; mark them SYSTEM so that
# warnings inside LibTorch headers never fail our -Werror build.
get_target_property(_torch_inc torch INTERFACE_INCLUDE_DIRECTORIES)
if(_torch_inc)
  set_target_properties(torch PROPERTIES INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${_torch_inc}")
endif()

find_package(Protobuf REQUIRED)
find_package(glog REQUIRED)
find_package(HDF5 REQUIRED COMPONENTS C)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(Threads REQUIRED)
find_package(ZLIB REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(TURBOJPEG REQUIRED IMPORTED_TARGET libturbojpeg)
# Character properties and case mapping only (the tokenizer): the common library.
pkg_check_modules(ICU REQUIRED IMPORTED_TARGET icu-uc)

set(HESP_HAVE_MPI OFF)
if(HESP_WITH_MPI)
  find_package(MPI COMPONENTS C)
  if(MPI_C_FOUND)
    set(HESP_HAVE_MPI ON)
  endif()
endif()

# NCCL: from CUDA's tree (/usr/local/cuda) or a module (NCCL_ROOT / NCCL_HOME).
set(HESP_HAVE_NCCL OFF)
if(HESP_WITH_NCCL)
  find_package(NCCL)
  if(NCCL_FOUND AND HESP_HAVE_MPI)
    set(HESP_HAVE_NCCL ON)
  endif()
endif()

# LibTorch built with CUDA exposes c10_cuda; then the NCCL path uses torch's streams.
set(HESP_TORCH_HAS_CUDA OFF)
if(TORCH_CUDA_LIBRARIES OR TARGET c10_cuda)
  set(HESP_TORCH_HAS_CUDA ON)
endif()

message(STATUS "hesp: LibTorch ${Torch_VERSION}, MPI=${HESP_HAVE_MPI}, NCCL=${HESP_HAVE_NCCL}, torch CUDA=${HESP_TORCH_HAS_CUDA}")
